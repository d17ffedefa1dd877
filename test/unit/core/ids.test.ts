import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { encodeMessage } from "../../../src/core/codec.ts";
import { newId, ownIdSequence, randomToken } from "../../../src/core/ids.ts";
import { SessionMessage, SessionType } from "../../../src/core/message.ts";

const prefixOf = (id: string): string => id.slice(0, id.indexOf("."));

void describe("ids", () => {
  void it("are distinct and strictly increasing within a process", () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    const counters = ids.map((id) => parseInt(id.slice(id.indexOf(".") + 1), 36));
    for (let i = 1; i < counters.length; i++) assert.ok(counters[i]! > counters[i - 1]!);
    assert.equal(new Set(ids.map(prefixOf)).size, 1);
  });

  void it("stay short enough for a small message to fit one copied ZeroMQ frame", () => {
    // An 8-character prefix, a dot and a counter: far below the 36 characters of a UUID.
    assert.ok(newId().length <= 15, newId());
    // zeromq.js copies frames of up to 128 bytes and hands larger ones over by reference (slower on both
    // sides). A 64-byte request with short names must stay within that even after two billion ids.
    const prefix = prefixOf(newId());
    const late = `${prefix}.${(2 ** 31).toString(36)}`;
    const request = new SessionMessage({
      tag: "echo",
      source: "master",
      destination: "worker.0",
      payload: new Uint8Array(64),
      sessionType: SessionType.TASK,
      sessionId: late,
      messageId: late,
    });
    const frames = encodeMessage(request, {});
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.byteLength <= 128, `${frames[0]!.byteLength} bytes`);
  });

  void it("have a different random prefix in another process", () => {
    const script = `import { newId } from ${JSON.stringify(new URL("../../../src/core/ids.ts", import.meta.url).href)}; console.log(newId());`;
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const other = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env,
      encoding: "utf8",
    }).trim();
    assert.match(other, /^[A-Za-z0-9_-]{8}\.0$/);
    assert.notEqual(prefixOf(other), prefixOf(newId()));
  });

  void it("makes random tokens of the asked size", () => {
    assert.equal(Buffer.from(randomToken(6), "base64url").length, 6);
    assert.notEqual(randomToken(), randomToken());
  });

  void it("reads back the counter of this process's own ids only", () => {
    const a = newId();
    const b = newId();
    assert.equal(ownIdSequence(b), ownIdSequence(a) + 1);
    assert.ok(ownIdSequence(a) >= 0);
    const prefix = a.slice(0, a.indexOf(".") + 1);
    for (const other of [
      "",
      "x",
      "AAAAAAAAAAA.0",
      `${prefix}`,
      `${prefix}!!`,
      `${prefix}zzzzzzzz`,
      `${a}!`, // own digits followed by something else
      `${prefix}-1`,
      a.toUpperCase(),
    ]) {
      if (other === a) continue;
      assert.equal(ownIdSequence(other), -1, other);
    }
  });
});
