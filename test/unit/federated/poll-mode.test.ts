import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ResearcherServer, NodeClient, NodeActiveStatus } from "../../../src/federated/index.ts";
import type { NodeEvent } from "../../../src/federated/index.ts";
import { Message } from "../../../src/core/message.ts";
import { ConfigError } from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const task = (payload: unknown, destination = "p1") =>
  new Message({ tag: "t", source: "researcher", destination, payload });

void test('mode "poll": tasks arrive by GetTaskUnary long polls, replies go back by ReplyTask', async () => {
  const server = new ResearcherServer({
    logger: new RecordingLogger(),
    chunkBytes: 4096,
    // Well above pollWaitMs, so a slow poll on a loaded machine is not taken for a lost node.
    nodeDisconnectionTimeoutMs: 2000,
  });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const events: NodeEvent[] = [];
  server.onMessage((e) => events.push(e));
  let runs = 0;
  const node = new NodeClient({
    nodeId: "p1",
    researchers: [{ host: "127.0.0.1", port }],
    mode: "poll",
    pollWaitMs: 200,
    logger: new RecordingLogger(),
    onTask: (t) => {
      runs++;
      const p = t.payload;
      return p instanceof Float32Array ? p.map((x) => x * 2) : { echo: p };
    },
  });
  cleanups.push(() => node.stop());
  node.start();
  await node.waitConnected({ timeoutMs: 10_000 });
  assert.ok(node.isConnected());
  assert.notEqual(server.getNode("p1"), undefined);

  // A small task, answered through the poll path.
  const small = await server.request(task("hello"), "p1", { timeoutMs: 10_000 });
  assert.deepEqual(small.payload, { echo: "hello" });

  // Several empty polls later (pollWaitMs 200), a large task in many chunks, and its large reply.
  await new Promise((r) => setTimeout(r, 500));
  const big = new Float32Array(20_000).map((_, i) => i);
  const reply = await server.request(task(big), "p1", { timeoutMs: 10_000 });
  assert.deepEqual(
    reply.payload,
    big.map((x) => x * 2),
  );

  // Tasks queued at once are each run exactly once, one per poll.
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) => server.request(task(i), "p1", { timeoutMs: 10_000 })),
  );
  assert.deepEqual(
    replies.map((m) => m.payload),
    Array.from({ length: 10 }, (_, i) => ({ echo: i })),
  );
  assert.equal(runs, 12);

  // Feedback goes through the Feedback call.
  node.feedbackScalar("loss", 0.5, 3);
  await until(() => events.some((e) => e.kind === "scalar" && e.name === "loss" && e.value === 0.5));

  // Overlay needs a stream.
  assert.throws(() => node.sendOverlay("p2", task(1, "p2")), ConfigError);

  // A stopped poller stops polling: WAITING, then DISCONNECTED after the timeout.
  await node.stop();
  await until(() => server.getNode("p1")?.status === NodeActiveStatus.DISCONNECTED, 10_000);
});

void test('mode "poll": a node started before its researcher connects once it is up', async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await server.start();
  await server.stop();
  const node = new NodeClient({
    nodeId: "late",
    researchers: [{ host: "127.0.0.1", port }],
    mode: "poll",
    pollWaitMs: 200,
    reconnectMaxMs: 200,
    logger: new RecordingLogger(),
    onTask: (t) => t.payload,
  });
  cleanups.push(() => node.stop());
  node.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(node.isConnected(), false);
  const again = new ResearcherServer({ logger: new RecordingLogger() });
  await again.start({ port });
  cleanups.push(() => again.stop());
  await node.waitConnected({ timeoutMs: 10_000 });
  const reply = await again.request(task(7, "late"), "late", { timeoutMs: 10_000 });
  assert.equal(reply.payload, 7);
  assert.throws(() => new NodeClient({ ...node.options, mode: "carrier-pigeon" as "poll" }), ConfigError);
});
