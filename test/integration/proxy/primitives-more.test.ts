import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message, SessionType } from "../../../src/core/message.ts";
import { TimeoutError } from "../../../src/core/errors.ts";
import { DummyLogger } from "../../../src/core/logger.ts";
import { Proxy } from "../../../src/proxy/index.ts";
import { createGroup, serve } from "../../helpers/proxy-group.ts";
import { uniqueName, waitFor } from "../../helpers/proxy-util.ts";

void describe("Proxy primitives (more)", () => {
  void it("works over ipc: scatter and broadcast", async () => {
    const driver = { protocol: "ipc" as const };
    const g = await createGroup(2, { master: { driver }, worker: { driver } });
    try {
      assert.match(g.master.addresses.unicast, /^ipc:\/\//);
      const r = await g.master.scatter(
        "sum",
        SessionType.TASK,
        [
          ["worker.0", [1]],
          ["worker.1", [2]],
        ],
        { timeoutMs: 5000 },
      );
      assert.deepEqual(r.map((m) => m.payload).sort(), [1, 2]);
      const b = await g.master.broadcast("worker", "echo", SessionType.TASK, 0, { timeoutMs: 5000 });
      assert.equal(b.length, 2);
    } finally {
      await g.close();
    }
  });

  void it("forward keeps the session and comes from the forwarding proxy", async () => {
    const g = await createGroup(2, { serveWorkers: false });
    try {
      const [w0, w1] = g.workers as [(typeof g.workers)[0], (typeof g.workers)[0]];
      const original = new Message({ tag: "job", source: "worker.0", destination: "master", payload: "p" });
      await w0.isend(original);
      const got = await g.master.receiveOnce({ timeoutMs: 5000 });
      await g.master.forward(got, "worker.1", { tag: "job-fwd" });
      const fwd = await w1.receiveOnce({ timeoutMs: 5000 });
      assert.equal(fwd.tag, "job-fwd");
      assert.equal(fwd.payload, "p");
      assert.equal(fwd.source, "master");
      assert.equal(fwd.sessionId, original.sessionId);
      assert.notEqual(fwd.messageId, original.messageId);
    } finally {
      await g.close();
    }
  });

  void it("a message over the receiver's maxMessageBytes is dropped and counted there", async () => {
    const g = await createGroup(1, { master: { maxMessageBytes: 4096 }, serveWorkers: false });
    try {
      const w = g.workers[0]!;
      await w.isend(
        new Message({ tag: "big", source: w.name, destination: "master", payload: new Uint8Array(10_000) }),
      );
      await w.isend(new Message({ tag: "small", source: w.name, destination: "master", payload: 1 }));
      const next = await g.master.receiveOnce({ timeoutMs: 5000 });
      assert.equal(next.tag, "small");
      await waitFor(
        () => g.master.getStats().decodeErrors === 1,
        1000,
        "the oversized message to be counted",
      );
    } finally {
      await g.close();
    }
  });

  void it("receive({ timeoutMs }) yields what arrives and ends at the deadline", async () => {
    const g = await createGroup(1, { serveWorkers: false });
    try {
      const w = g.workers[0]!;
      await w.isend(new Message({ tag: "a", source: w.name, destination: "master", payload: 1 }));
      const tags: string[] = [];
      const started = Date.now();
      for await (const m of g.master.receive({ timeoutMs: 300 })) tags.push(m.tag);
      assert.deepEqual(tags, ["a"]);
      assert.ok(Date.now() - started >= 250);
    } finally {
      await g.close();
    }
  });

  void it("broadcast to actor is not received by actor_eval (exact type topics)", async () => {
    const groupName = uniqueName("types");
    const mk = (componentType: string, expectedPeers: Record<string, number>) =>
      Proxy.create({
        groupName,
        componentType,
        componentName: `${componentType}.0`,
        expectedPeers,
        logger: new DummyLogger(),
      });
    const [learner, actor, evaluator] = await Promise.all([
      mk("learner", { actor: 1, actor_eval: 1 }),
      mk("actor", { learner: 1 }),
      mk("actor_eval", { learner: 1 }),
    ]);
    try {
      void serve(actor);
      const replies = await learner.broadcast("actor", "echo", SessionType.TASK, 1, { timeoutMs: 5000 });
      assert.deepEqual(
        replies.map((r) => r.source),
        ["actor.0"],
      );
      await assert.rejects(evaluator.receiveOnce({ timeoutMs: 300 }), TimeoutError);
    } finally {
      await Promise.all([learner.close(), actor.close(), evaluator.close()]);
    }
  });
});
