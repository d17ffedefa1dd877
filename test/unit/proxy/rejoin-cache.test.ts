import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "../../../src/core/message.ts";
import { RejoinCache } from "../../../src/proxy/rejoin-cache.ts";

function msg(i: number): Message {
  return new Message({ tag: "t", source: "m", destination: "w", payload: i });
}

void describe("RejoinCache", () => {
  void it("returns a peer's messages oldest first and empties its cache", () => {
    const cache = new RejoinCache(10);
    for (let i = 0; i < 3; i++) assert.equal(cache.add("w", msg(i)), true);
    cache.add("other", msg(99));
    assert.equal(cache.size("w"), 3);
    assert.equal(cache.total, 4);
    assert.deepEqual(
      cache.take("w").map((m) => m.payload),
      [0, 1, 2],
    );
    assert.equal(cache.size("w"), 0);
    assert.deepEqual(cache.take("w"), []);
    assert.equal(cache.size("other"), 1);
    assert.equal(cache.total, 1);
  });

  void it("drops the oldest message past maxLength and counts it", () => {
    const cache = new RejoinCache(2);
    cache.add("w", msg(0));
    cache.add("w", msg(1));
    assert.equal(cache.add("w", msg(2)), false);
    assert.equal(cache.dropped, 1);
    assert.equal(cache.total, 2);
    assert.deepEqual(
      cache.take("w").map((m) => m.payload),
      [1, 2],
    );
  });

  void it("forget counts the forgotten messages as dropped", () => {
    const cache = new RejoinCache(5);
    cache.add("w", msg(0));
    cache.add("w", msg(1));
    assert.equal(cache.forget("w"), 2);
    assert.equal(cache.dropped, 2);
    assert.equal(cache.total, 0);
    assert.equal(cache.size("w"), 0);
  });
});
