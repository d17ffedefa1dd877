import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ClosedError, PeersDisconnectionError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";
import { Inbox } from "../../../src/proxy/inbox.ts";
import { WaitingCalls } from "../../../src/proxy/waiting-calls.ts";

const reply = (sessionId: string, source = "worker.0", payload: unknown = 1): Message =>
  new Message({ tag: "r", source, destination: "master", payload, sessionId });

void describe("WaitingCalls", () => {
  void it("hands a message to the call awaiting its session and to nobody else", async () => {
    const calls = new WaitingCalls(new Inbox(10));
    assert.equal(calls.empty, true);
    assert.equal(calls.offer(reply("s1")), false, "no call waits yet");
    const a = calls.add([{ sessionId: "s1", source: "worker.0" }], undefined);
    const b = calls.add([{ sessionId: "s2" }], undefined);
    assert.equal(calls.empty, false);
    assert.equal(calls.offer(reply("s3")), false, "an unknown session is not taken");
    assert.equal(calls.offer(reply("s1", "worker.9")), false, "the wrong source is not taken");
    assert.equal(calls.offer(reply("s2", "worker.1", "b")), true);
    assert.equal(calls.offer(reply("s1", "worker.0", "a")), true);
    assert.deepEqual(
      (await a.done).map((m) => m.payload),
      ["a"],
    );
    assert.deepEqual(
      (await b.done).map((m) => m.payload),
      ["b"],
    );
    assert.equal(calls.empty, true, "settled calls are removed");
  });

  void it("takes replies that reached the inbox before the call, and leaves the rest there", async () => {
    const inbox = new Inbox(10);
    inbox.push(reply("other", "worker.0", "x"));
    inbox.push(reply("s1", "worker.0", "early"));
    const call = new WaitingCalls(inbox).add([{ sessionId: "s1" }], undefined);
    assert.deepEqual(
      (await call.done).map((m) => m.payload),
      ["early"],
    );
    assert.equal(inbox.size, 1);
    assert.equal(inbox.poll()?.payload, "x");
  });

  void it("ends the calls awaiting a gone peer, failing or dropping it", async () => {
    const calls = new WaitingCalls(new Inbox(10));
    const failing = calls.add([{ sessionId: "s1", source: "worker.0" }], undefined);
    calls.peerGone("worker.0", false);
    await assert.rejects(failing.done, PeersDisconnectionError);
    const dropping = calls.add(
      [
        { sessionId: "s2", source: "worker.0" },
        { sessionId: "s3", source: "worker.1" },
      ],
      undefined,
    );
    calls.offer(reply("s3", "worker.1", "kept"));
    calls.peerGone("worker.0", true);
    assert.deepEqual(
      (await dropping.done).map((m) => m.payload),
      ["kept"],
    );
  });

  void it("fails every waiting call with its own error", async () => {
    const calls = new WaitingCalls(new Inbox(10));
    const waits = [calls.add([{ sessionId: "a" }], undefined), calls.add([{ sessionId: "b" }], undefined)];
    const errors = new Set<unknown>();
    calls.failAll(() => new ClosedError("closed"));
    for (const w of waits) await w.done.catch((err: unknown) => errors.add(err));
    assert.equal(errors.size, 2);
    for (const err of errors) assert.ok(err instanceof ClosedError);
    assert.equal(calls.empty, true);
  });
});
