import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { REDIS_URL } from "../../helpers/proxy-util.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/ioredis-loaded.ts", import.meta.url));

/** How many ioredis modules a fresh process has loaded after importing weft and doing `what`. */
async function ioredisModules(what: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", FIXTURE, what], {
    timeout: 30_000,
  });
  return Number(stdout.trim());
}

// ioredis slows every String.prototype method call in a process once loaded (see load-ioredis.ts), so only
// Redis discovery may load it.
void describe("ioredis is loaded only for Redis discovery", () => {
  void it("importing weft and using the local registry load none of it", async () => {
    assert.equal(await ioredisModules("none"), 0);
    assert.equal(await ioredisModules("local"), 0);
  });

  void it("connecting a Redis registry loads it (the check above can see it)", async () => {
    assert.ok((await ioredisModules(REDIS_URL)) > 0);
  });
});
