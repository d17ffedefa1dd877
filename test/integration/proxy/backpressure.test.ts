import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message, SessionType } from "../../../src/core/message.ts";
import { createGroup } from "../../helpers/proxy-group.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

void describe("Proxy inbox backpressure", () => {
  void it("a full inbox pauses reading without losing messages, and calls awaiting replies still complete", async () => {
    const g = await createGroup(1, { master: { maxInboxSize: 5 }, serveWorkers: false });
    try {
      const worker = g.workers[0]!;
      const N = 200;
      for (let i = 0; i < N; i++) {
        await worker.isend(
          new Message({ tag: "note", source: worker.name, destination: "master", payload: i }),
        );
      }
      await waitFor(() => g.master.getStats().messagesReceived >= 5, 5000, "the master inbox to fill");
      // The master's inbox is full and its reader paused; a call that awaits a reply must still get it.
      const serving = (async () => {
        const req = await worker.receiveOnce({ timeoutMs: 5000 });
        await worker.reply(req, { payload: "pong" });
      })();
      const replies = await g.master.scatter("ping", SessionType.TASK, [["worker.0", null]], {
        timeoutMs: 3000,
      });
      await serving;
      assert.equal(replies[0]?.payload, "pong");
      // Every note is still delivered, in order.
      const got: unknown[] = [];
      for await (const m of g.master.receive()) {
        got.push(m.payload);
        if (got.length === N) break;
      }
      assert.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => i),
      );
    } finally {
      await g.close();
    }
  });
});
