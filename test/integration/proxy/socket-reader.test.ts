import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { readLoop } from "../../../src/transport/socket-reader.ts";

/** A bound PULL and a PUSH connected to it. */
async function pair(): Promise<{ pull: zmq.Pull; push: zmq.Push; close(): void }> {
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 100_000 });
  await pull.bind("tcp://127.0.0.1:0");
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 });
  push.connect(pull.lastEndpoint!);
  return {
    pull,
    push,
    close: () => {
      push.close();
      pull.close();
    },
  };
}

void describe("readLoop", () => {
  void it("reads every message, in order, and ends when the socket closes", async () => {
    const { pull, push, close } = await pair();
    const got: number[] = [];
    let handlerErrors = 0;
    const done = readLoop(
      pull,
      ([f]) => {
        got.push(Number(String(f)));
        if (got.length === 3) throw new Error("a handler error does not stop the loop");
      },
      () => handlerErrors++,
    );
    for (let i = 0; i < 500; i++) await push.send(String(i));
    while (got.length < 500) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      got,
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.equal(handlerErrors, 1);
    close();
    await done;
  });

  void it("with receiveWithoutCheck, reads a stream without the check and goes back to waiting after a miss", async () => {
    // inproc: a message is in the PULL's queue as soon as its send returns, so what the loop finds is
    // known exactly.
    const pull = new zmq.Pull({ linger: 0 });
    const push = new zmq.Push({ linger: 0 });
    const address = `inproc://read-loop-${process.pid}-${Date.now()}`;
    await pull.bind(address);
    push.connect(address);
    let allSent!: () => void;
    const sent = new Promise<void>((resolve) => (allSent = resolve));
    // The socket's receive timeout when each message was handed over: 0 = taken without the check,
    // -1 = by a waiting receive.
    const modes: number[] = [];
    const done = readLoop(
      pull,
      async () => {
        modes.push(pull.receiveTimeout);
        if (modes.length === 1) await sent; // the rest of the stream queues up meanwhile
      },
      undefined,
      { receiveWithoutCheck: true },
    );
    try {
      // The loop found nothing at first (a miss): the first two messages are waited for, then the rest
      // of the stream, already queued, is taken without the check.
      for (let i = 0; i < 200; i++) await push.send("s");
      allSent();
      while (modes.length < 200) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(modes.slice(0, 2), [-1, -1]);
      assert.ok(
        modes.slice(2).every((m) => m === 0),
        "the stream is read without the check",
      );
      // The stream ran dry (another miss): sparse messages are waited for again.
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await push.send("sparse");
      }
      while (modes.length < 203) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(modes.slice(200), [-1, -1, -1]);
    } finally {
      push.close();
      pull.close();
    }
    await done;
  });

  void it("with receiveWithoutCheck, lets timers run during a stream that never runs dry", async () => {
    const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 10_000 });
    const push = new zmq.Push({ linger: 0, sendHighWaterMark: 10_000 });
    const address = `inproc://read-loop-turns-${process.pid}-${Date.now()}`;
    await pull.bind(address);
    push.connect(address);
    const total = 3000;
    let handled = 0;
    let allSent!: () => void;
    const sent = new Promise<void>((resolve) => (allSent = resolve));
    const done = readLoop(
      pull,
      async () => {
        handled++;
        if (handled === 1) await sent; // the whole stream is queued before the loop goes on
      },
      undefined,
      { receiveWithoutCheck: true },
    );
    try {
      for (let i = 0; i < total; i++) await push.send("s");
      // Every message is now in the PULL's queue: without a turn of the event loop now and then the loop
      // would take all of them before this timer could fire.
      const handledWhenTimerRan = new Promise<number>((resolve) => setTimeout(() => resolve(handled), 0));
      allSent();
      const atTimer = await handledWhenTimerRan;
      assert.ok(atTimer < total, `the timer ran only after all ${total} messages`);
      while (handled < total) await new Promise((r) => setTimeout(r, 5));
      assert.equal(handled, total);
    } finally {
      push.close();
      pull.close();
    }
    await done;
  });
});
