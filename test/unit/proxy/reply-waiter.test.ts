import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeersDisconnectionError, ReplyTimeoutError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";
import { ReplyWaiter } from "../../../src/proxy/reply-waiter.ts";

function reply(sessionId: string, source: string, payload: unknown = null): Message {
  return new Message({ tag: "r", source, destination: "master", payload, sessionId });
}

void describe("ReplyWaiter", () => {
  void it("resolves with replies in arrival order once every expectation is met", async () => {
    let settled = 0;
    const w = new ReplyWaiter(
      [
        { sessionId: "s1", source: "w0" },
        { sessionId: "s2", source: "w1" },
      ],
      undefined,
      () => settled++,
    );
    assert.equal(w.offer(reply("s2", "w1", 2)), true);
    assert.equal(w.offer(reply("s1", "w9")), false, "wrong source is not taken");
    assert.equal(w.offer(reply("zz", "w0")), false, "unknown session is not taken");
    assert.deepEqual(w.sessionIds(), ["s1"]);
    assert.equal(w.offer(reply("s1", "w0", 1)), true);
    const replies = await w.done;
    assert.deepEqual(
      replies.map((m) => m.payload),
      [2, 1],
    );
    assert.equal(settled, 1);
    assert.equal(w.offer(reply("s1", "w0")), false, "a settled waiter takes nothing");
  });

  void it("takes one reply per repeated session id from any source when sources are unknown", async () => {
    const w = new ReplyWaiter([{ sessionId: "b" }, { sessionId: "b" }], undefined, () => {});
    assert.equal(w.offer(reply("b", "w0")), true);
    assert.equal(w.offer(reply("b", "w1")), true);
    assert.equal((await w.done).length, 2);
  });

  void it("rejects at the deadline with ReplyTimeoutError carrying the partial replies", async () => {
    const w = new ReplyWaiter(
      [
        { sessionId: "s", source: "w0" },
        { sessionId: "s", source: "w1" },
      ],
      60,
      () => {},
    );
    w.offer(reply("s", "w0", "got"));
    const started = Date.now();
    const err = await w.done.then(
      () => assert.fail("should time out"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ReplyTimeoutError);
    assert.deepEqual(
      (err.partial as Message[]).map((m) => m.payload),
      ["got"],
    );
    assert.match(err.message, /w1/);
    assert.ok(Date.now() - started < 1000);
  });

  void it("fails with PeersDisconnectionError when an awaited peer dies", async () => {
    const w = new ReplyWaiter(
      [
        { sessionId: "s", source: "w0" },
        { sessionId: "s", source: "w1" },
      ],
      undefined,
      () => {},
    );
    w.offer(reply("s", "w0"));
    w.peerGone("w7", false); // not awaited: no effect
    assert.equal(w.settled, false);
    w.peerGone("w1", false);
    const err = await w.done.catch((e: unknown) => e);
    assert.ok(err instanceof PeersDisconnectionError);
    assert.equal((err as PeersDisconnectionError & { partial: Message[] }).partial.length, 1);
  });

  void it("drops a dead peer's expectations in rejoin mode and resolves with the rest", async () => {
    const w = new ReplyWaiter(
      [
        { sessionId: "s", source: "w0" },
        { sessionId: "s", source: "w1" },
      ],
      undefined,
      () => {},
    );
    w.offer(reply("s", "w0", 0));
    w.peerGone("w1", true);
    assert.deepEqual(
      (await w.done).map((m) => m.source),
      ["w0"],
    );
  });

  void it("resolves at once with no expectations", async () => {
    const w = new ReplyWaiter([], 10, () => {});
    assert.deepEqual(await w.done, []);
  });
});
