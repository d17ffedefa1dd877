import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ClosedError, PeersDisconnectionError } from "../../../src/core/errors.ts";
import { newId, ownIdSequence } from "../../../src/core/ids.ts";
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

  void it("indexes calls on this process's own session ids the same way, in order, slot collisions included", async () => {
    const calls = new WaitingCalls(new Inbox(10));
    const own = newId();
    // Two calls on the same id: the first is offered replies first.
    const first = calls.add([{ sessionId: own }], undefined);
    const second = calls.add([{ sessionId: own }], undefined);
    // An own id whose counter is 4096 further on: the same slot of the proxy's index as `own`.
    let later = newId();
    while (ownIdSequence(later) - ownIdSequence(own) < 4096) later = newId();
    assert.equal(ownIdSequence(later) - ownIdSequence(own), 4096);
    const colliding = calls.add([{ sessionId: later }], undefined);
    assert.equal(calls.offer(reply(later, "worker.0", "later")), true);
    assert.equal(calls.offer(reply(own, "worker.0", "1st")), true);
    // The first call has ended: a new call on the same id still comes after the one already waiting.
    const third = calls.add([{ sessionId: own }], undefined);
    assert.equal(calls.offer(reply(own, "worker.0", "2nd")), true);
    assert.equal(calls.offer(reply(own, "worker.0", "3rd")), true);
    assert.deepEqual(
      (await first.done).map((m) => m.payload),
      ["1st"],
    );
    assert.deepEqual(
      (await second.done).map((m) => m.payload),
      ["2nd"],
    );
    assert.deepEqual(
      (await third.done).map((m) => m.payload),
      ["3rd"],
    );
    assert.deepEqual(
      (await colliding.done).map((m) => m.payload),
      ["later"],
    );
    assert.equal(calls.empty, true);
    assert.equal(calls.offer(reply(own)), false, "nobody waits any more");
    // Gone peers and closing reach such calls too.
    const gone = calls.add([{ sessionId: newId(), source: "worker.3" }], undefined);
    const closing = calls.add([{ sessionId: newId() }], undefined);
    calls.peerGone("worker.3", false);
    await assert.rejects(gone.done, PeersDisconnectionError);
    calls.failAll(() => new ClosedError("closed"));
    await assert.rejects(closing.done, ClosedError);
    assert.equal(calls.empty, true);
  });
});
