import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { ClosedError, DriverSendError } from "../../../src/core/errors.ts";
import { SocketWriter } from "../../../src/transport/socket-writer.ts";

void describe("SocketWriter", () => {
  void it("a failed send rejects with DriverSendError, the messages queued behind it are settled, and the writer works on", async () => {
    // No peer yet: a PUSH cannot send, so each send fails after the socket's send timeout.
    const push = new zmq.Push({ linger: 0, sendTimeout: 50 });
    const pull = new zmq.Pull({ linger: 0 });
    const writer = new SocketWriter(push, { label: "nobody" });
    try {
      const first = writer.send(["a"]);
      const queued = [writer.send(["b"]), writer.send(["c"])];
      await assert.rejects(first, (err: unknown) => {
        assert.ok(err instanceof DriverSendError);
        assert.match((err as Error).message, /send to nobody failed/);
        return true;
      });
      for (const r of await Promise.allSettled(queued)) {
        assert.equal(r.status, "rejected");
        assert.ok((r as PromiseRejectedResult).reason instanceof DriverSendError);
      }
      assert.equal(writer.pending, 0);
      await pull.bind("tcp://127.0.0.1:0");
      push.connect(pull.lastEndpoint!);
      // Sends in order, the first through the idle path and the rest queued behind it.
      await Promise.all(["1", "2", "3"].map((s) => writer.send([s])));
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push(String((await pull.receive())[0]));
      assert.deepEqual(got, ["1", "2", "3"]);
      writer.close();
      await assert.rejects(writer.send(["x"]), ClosedError);
    } finally {
      writer.close();
      push.close();
      pull.close();
    }
  });

  void it("with waitForRoomMs, sends never ask ZeroMQ first and wait for room only when there is none", async () => {
    // No peer yet: there is no room, so the first send waits until a PULL connects.
    const push = new zmq.Push({ linger: 0 });
    const pull = new zmq.Pull({ linger: 0 });
    const writer = new SocketWriter(push, { label: "late", waitForRoomMs: 5000 });
    try {
      assert.equal(push.sendTimeout, 0);
      const sent = writer.send(["first"]);
      const queued = writer.send(["second"]);
      await new Promise((r) => setTimeout(r, 100));
      await pull.bind("tcp://127.0.0.1:0");
      push.connect(pull.lastEndpoint!);
      await Promise.all([sent, queued]);
      assert.equal(String((await pull.receive())[0]), "first");
      assert.equal(String((await pull.receive())[0]), "second");
      assert.equal(push.sendTimeout, 0, "the wait's timeout is not left on the socket");
    } finally {
      writer.close();
      push.close();
      pull.close();
    }
  });

  void it("with waitForRoomMs, a send that finds no room within it rejects with DriverSendError", async () => {
    const push = new zmq.Push({ linger: 0 });
    const writer = new SocketWriter(push, { label: "nobody", waitForRoomMs: 80 });
    try {
      const t0 = performance.now();
      const first = writer.send(["a"]);
      const queued = writer.send(["b"]);
      await assert.rejects(first, DriverSendError);
      assert.ok(performance.now() - t0 >= 60, "waited for room before failing");
      await assert.rejects(queued, DriverSendError);
      assert.equal(writer.pending, 0);
    } finally {
      writer.close();
      push.close();
    }
  });

  void it("with waitForRoomMs, a long run of awaited sends still lets timers run", async () => {
    const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 100_000 });
    await pull.bind("tcp://127.0.0.1:0");
    const push = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 });
    push.connect(pull.lastEndpoint!);
    const writer = new SocketWriter(push, { label: "busy", waitForRoomMs: 5000 });
    try {
      await writer.send(["warm-up"]);
      let firedAt = -1;
      let i = 0;
      setTimeout(() => (firedAt = i), 0);
      for (; i < 3000; i++) await writer.send(["x"]);
      // Sends that never wait resolve as microtasks; without a turn of the event loop now and then the
      // timer would fire only after the loop.
      assert.ok(firedAt >= 0 && firedAt < 1500, `the timer fired at send ${firedAt} of 3000`);
    } finally {
      writer.close();
      push.close();
      pull.close();
    }
  });
});
