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
});
