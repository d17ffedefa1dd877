import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "../../../src/core/message.ts";
import { ReplyWaitClock } from "../../../src/proxy/reply-wait-clock.ts";
import { ReplyWaiter } from "../../../src/proxy/reply-waiter.ts";

void describe("ReplyWaitClock", () => {
  void it("tells each listener how long a call waited, and nothing once removed", async () => {
    const clock = new ReplyWaitClock();
    assert.equal(clock.start(), 0, "no listener: nothing is timed");
    const heard: number[] = [];
    const stop = clock.listen((s) => heard.push(s));
    const start = clock.start();
    assert.ok(start > 0);
    const waiter = new ReplyWaiter([{ sessionId: "s1" }], undefined, (w) => clock.ended(w));
    clock.began(waiter, start);
    await new Promise((r) => setTimeout(r, 30));
    waiter.offer(new Message({ tag: "t", source: "a", destination: "b", sessionId: "s1" }));
    await waiter.done;
    assert.equal(heard.length, 1);
    assert.ok((heard[0] as number) >= 0.025 && (heard[0] as number) < 5, `waited ${heard[0]} s`);
    stop();
    const later = new ReplyWaiter([{ sessionId: "s2" }], undefined, (w) => clock.ended(w));
    clock.began(later, clock.start());
    later.offer(new Message({ tag: "t", source: "a", destination: "b", sessionId: "s2" }));
    assert.equal(heard.length, 1, "a removed listener hears nothing");
  });

  void it("a call settled before it began waiting counts as a wait of 0 s, once", () => {
    const clock = new ReplyWaitClock();
    const heard: number[] = [];
    clock.listen((s) => heard.push(s));
    const start = clock.start();
    const waiter = new ReplyWaiter([], undefined, (w) => clock.ended(w)); // nothing to wait for
    assert.equal(waiter.settled, true);
    clock.began(waiter, start);
    assert.deepEqual(heard, [0]);
  });
});
