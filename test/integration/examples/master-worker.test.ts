import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { expectedRoundSum } from "../../../examples/master-worker/main.ts";

const MAIN = fileURLToPath(new URL("../../../examples/master-worker/main.ts", import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** Runs the example to its end (deadline `ms`); resolves to its exit status and output. */
function runExample(args: string[], ms: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`example did not finish within ${ms} ms:\n${out}`));
    }, ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

void describe("examples/master-worker", () => {
  void it("scatters to 3 worker processes and sums their replies to the exact total", async () => {
    const size = 200_000;
    const rounds = 3;
    const { code, out } = await runExample(
      ["--workers", "3", "--size", String(size), "--rounds", String(rounds)],
      60_000,
    );
    assert.equal(code, 0, out);
    let expected = 0;
    for (let r = 1; r <= rounds; r++) {
      expected += expectedRoundSum(size, r);
      assert.match(out, new RegExp(`round ${r}: sum=${expectedRoundSum(size, r)} `), out);
    }
    assert.match(out, new RegExp(`^total=${expected}$`, "m"), out);
    for (const w of ["worker.0", "worker.1", "worker.2"]) {
      assert.match(out, new RegExp(`${w}: summed ${rounds} chunks`), `${w} did its share:\n${out}`);
    }
  });

  void it("rejects a bad argument with a message naming it", async () => {
    const { code, out } = await runExample(["--workers", "zero"], 30_000);
    assert.notEqual(code, 0);
    assert.match(out, /--workers must be a positive integer/);
  });
});
