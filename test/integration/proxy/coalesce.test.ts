import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { splitMessages } from "../../../src/core/batch.ts";
import { decodeMessage, encodeMessage } from "../../../src/core/codec.ts";
import { Message } from "../../../src/core/message.ts";
import type { Proxy } from "../../../src/proxy/index.ts";
import { SocketWriter } from "../../../src/transport/socket-writer.ts";
import { createGroup } from "../../helpers/proxy-group.ts";

void describe("coalesced sends", () => {
  void it("messages queued behind a send leave as one multipart within the limits; a large one alone", async () => {
    const pull = new zmq.Pull({ linger: 0 });
    await pull.bind("tcp://127.0.0.1:0");
    const push = new zmq.Push({ linger: 0 });
    push.connect(pull.lastEndpoint!);
    const writer = new SocketWriter(push, { coalesce: { maxMessages: 16, maxBytes: 4096 } });
    try {
      const sent = Array.from(
        { length: 100 },
        (_, i) =>
          new Message({ tag: "n", source: "a", destination: "b", payload: i === 50 ? "x".repeat(5000) : i }),
      );
      await Promise.all(sent.map((m) => writer.send(encodeMessage(m))));
      const received: Message[] = [];
      let multiparts = 0;
      let largest = 0;
      while (received.length < sent.length) {
        const frames = await pull.receive();
        multiparts++;
        const groups = splitMessages(frames);
        largest = Math.max(largest, groups.length);
        if (groups.some((g) => (decodeMessage(g).payload as string).length === 5000)) {
          assert.equal(groups.length, 1, "the message over maxBytes goes alone");
        }
        for (const g of groups) received.push(decodeMessage(g));
      }
      assert.deepEqual(
        received.map((m) => m.messageId),
        sent.map((m) => m.messageId),
        "every message, in order",
      );
      assert.ok(multiparts < sent.length / 4, `${multiparts} multiparts for ${sent.length} messages`);
      assert.equal(largest, 16, "no multipart over maxMessages");
    } finally {
      writer.close();
      push.close();
      pull.close();
    }
  });

  void it("a proxy receives 5000 concurrent isends complete and in order, attachments included", async () => {
    const g = await createGroup(1, { serveWorkers: false });
    try {
      const worker = g.workers[0] as Proxy;
      const sent = Array.from(
        { length: 5000 },
        (_, i) =>
          new Message({
            tag: "n",
            source: "master",
            destination: "worker.0",
            payload: i % 1000 === 7 ? { i, w: new Float32Array(4096).fill(i) } : { i },
          }),
      );
      const ids = await Promise.all(sent.map((m) => g.master.isend(m)));
      assert.deepEqual(
        ids.flat(),
        sent.map((m) => m.sessionId),
      );
      const got: number[] = [];
      for await (const m of worker.receive({ timeoutMs: 10_000 })) {
        const p = m.payload as { i: number; w?: Float32Array };
        if (p.w) assert.equal(p.w[4095], p.i);
        got.push(p.i);
        if (got.length === sent.length) break;
      }
      assert.deepEqual(
        got,
        Array.from({ length: 5000 }, (_, i) => i),
      );
      const stats = worker.getStats();
      assert.equal(stats.messagesReceived, 5000);
      assert.equal(stats.decodeErrors, 0);
    } finally {
      await g.close();
    }
  });
});
