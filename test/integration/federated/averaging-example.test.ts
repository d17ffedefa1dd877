import { test } from "node:test";
import assert from "node:assert/strict";
import { runFederatedAveraging } from "../../../examples/federated-averaging/averaging.ts";

void test("federated averaging example: 5 rounds over 3 nodes, loss decreases, every node takes part", async () => {
  const r = await runFederatedAveraging(5, 3);
  assert.equal(r.losses.length, 5);
  for (let i = 1; i < r.losses.length; i++)
    assert.ok((r.losses[i] as number) < (r.losses[i - 1] as number), `round ${i}: ${r.losses.join(", ")}`);
  assert.ok((r.losses[4] as number) < (r.losses[0] as number) / 2);
  for (const p of r.participants) assert.deepEqual([...p].sort(), ["hospital-0", "hospital-1", "hospital-2"]);
});
