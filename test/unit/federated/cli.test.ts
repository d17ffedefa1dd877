import { test } from "node:test";
import assert from "node:assert/strict";
import { command } from "../../../src/cli/federated.ts";
import { BadRequestError, FileOperationError } from "../../../src/core/errors.ts";

void test("weft federated: bad arguments are typed errors that show the usage", async () => {
  assert.equal(command.name, "federated");
  await assert.rejects(
    command.run(["bogus"]),
    (e: unknown) => e instanceof BadRequestError && /serve or node/.test(e.message),
  );
  await assert.rejects(
    command.run(["node", "--researcher", "localhost:1", "--task-module", "x.ts#f"]),
    (e: unknown) => e instanceof BadRequestError && /--id is required/.test(e.message),
  );
  await assert.rejects(
    command.run(["serve", "--port", "99999"]),
    (e: unknown) => e instanceof BadRequestError && /not a port/.test(e.message),
  );
  await assert.rejects(
    command.run(["serve", "--tls-cert", "/nonexistent/server.crt", "--tls-key", "/nonexistent/k"]),
    FileOperationError,
  );
  await assert.rejects(
    command.run([
      "node",
      "--id",
      "n1",
      "--researcher",
      "localhost:1",
      "--task-module",
      "/nonexistent/train.ts#train",
    ]),
    FileOperationError,
  );
});
