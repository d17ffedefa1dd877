import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { describe, it } from "node:test";
import { OutputMux } from "../../../src/launch/output.ts";

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function feed(mux: OutputMux, color: number): Promise<void> {
  const out = new PassThrough();
  const err = new PassThrough();
  mux.attach("actor.1", color, out, err);
  out.end("first line\nsecond line\n");
  err.end("oops\n");
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

void describe("OutputMux", () => {
  void it("prefixes every line with the padded component name, colored on request", async () => {
    const o = sink();
    const e = sink();
    const mux = new OutputMux({ stdout: o.stream, stderr: e.stream, nameWidth: 9 });
    await feed(mux, 0);
    assert.equal(o.text(), "actor.1   | first line\nactor.1   | second line\n");
    assert.equal(e.text(), "actor.1   | oops\n");
    const c = sink();
    const colored = new OutputMux({ stdout: c.stream, stderr: sink().stream, color: true });
    await feed(colored, 1);
    assert.ok(c.text().startsWith("\u001b[33mactor.1 |\u001b[0m first line\n"), JSON.stringify(c.text()));
  });

  void it("hides stdout with quiet, keeps stderr, and writes everything to the log directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-output-"));
    const o = sink();
    const e = sink();
    const mux = new OutputMux({ stdout: o.stream, stderr: e.stream, quiet: true, logDir: join(dir, "logs") });
    await feed(mux, 0);
    mux.notice("actor.1 exited with status 0", "actor.1");
    await mux.close();
    assert.equal(o.text(), "");
    assert.match(e.text(), /actor\.1 \| oops\n\[weft\] actor\.1 exited with status 0\n/);
    const log = readFileSync(join(dir, "logs", "actor.1.log"), "utf8");
    assert.match(log, /first line\nsecond line\n/);
    assert.match(log, /oops\n/);
    assert.match(log, /\[weft\] actor\.1 exited with status 0\n/);
  });
});
