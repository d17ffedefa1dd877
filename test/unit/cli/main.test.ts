import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/weft.js", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Runs the real `weft` binary; the child is killed after 30 s at most. */
function weft(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const status = err === null ? 0 : typeof err.code === "number" ? err.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}

void describe("weft command", () => {
  void it("prints package.json's version with --version and -v", async () => {
    const [long, short] = await Promise.all([weft("--version"), weft("-v")]);
    assert.deepEqual([long.status, long.stdout.trim()], [0, VERSION]);
    assert.deepEqual([short.status, short.stdout.trim()], [0, VERSION]);
  });

  void it("prints help and exits 0 with --help or no arguments", async () => {
    const [help, bare] = await Promise.all([weft("--help"), weft()]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: weft <command>/);
    assert.ok(help.stdout.includes(VERSION));
    assert.ok(help.stdout.includes("--version"));
    assert.equal(bare.status, 0);
    assert.equal(bare.stdout, help.stdout);
  });

  void it("exits 2 naming an unknown command", async () => {
    const r = await weft("lanch", "--x");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "lanch"/);
    assert.match(r.stderr, /WEFT_ERR_COMMAND_NOT_FOUND/);
    assert.equal(r.stdout, "");
  });
});
