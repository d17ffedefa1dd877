import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentStore, NodeActiveStatus } from "../../../src/federated/node-agent.ts";
import { prepareChunks, chunkData, Reassembler } from "../../../src/federated/chunking.ts";
import { MessageExpiredError, NodeDisconnectedError, DecodeError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";
import { until } from "../../helpers/federated-util.ts";

const task = (id: string, fail: (e: unknown) => void = () => {}) => ({
  requestId: id,
  prepared: prepareChunks(new Message({ tag: "t", source: "r", destination: "n", payload: id })),
  enqueuedAt: Date.now(),
  retries: 0,
  fail,
});

void test("retrieve creates once, initial status ACTIVE, getAll returns a copy", () => {
  const store = new AgentStore();
  const a = store.retrieve("n1");
  assert.equal(store.retrieve("n1"), a);
  assert.equal(a.status, NodeActiveStatus.ACTIVE);
  const all = store.getAll();
  all.delete("n1");
  assert.equal(store.getAll().size, 1);
  assert.equal(store.get("nope"), undefined);
});

void test("WAITING after the stream ends, DISCONNECTED when the timer fires, reconnect cancels the timer", async () => {
  const seen: string[] = [];
  const store = new AgentStore({ nodeDisconnectionTimeoutMs: 60 }, undefined, (a) => seen.push(a.status));
  const a = store.retrieve("n1");
  a.attach();
  a.enqueue(task("q1"));
  a.detach();
  assert.equal(a.status, NodeActiveStatus.WAITING);
  a.enqueue(task("q2")); // queued while WAITING
  assert.equal(a.queue.length, 2);
  a.attach();
  assert.equal(a.status, NodeActiveStatus.ACTIVE);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(a.status, NodeActiveStatus.ACTIVE, "timer was cancelled by the reconnect");
  const failures: unknown[] = [];
  a.enqueue(task("q3", (e) => failures.push(e)));
  a.detach();
  await until(() => a.status === NodeActiveStatus.DISCONNECTED, 2000);
  assert.deepEqual(seen, ["WAITING", "ACTIVE", "WAITING", "DISCONNECTED"]);
  assert.ok(failures.some((e) => e instanceof NodeDisconnectedError));
  assert.throws(() => a.enqueue(task("q4")), NodeDisconnectedError);
  store.dispose();
});

void test("queued tasks older than maxSendDurationMs fail with MessageExpiredError", () => {
  const store = new AgentStore({ maxSendDurationMs: 10 });
  const a = store.retrieve("n1");
  const errors: unknown[] = [];
  const t = task("old", (e) => errors.push(e));
  t.enqueuedAt = Date.now() - 1000;
  a.enqueue(t);
  a.attach();
  assert.equal(a.queue.length, 0);
  assert.ok(errors[0] instanceof MessageExpiredError);
  store.dispose();
});

void test("interrupted in-flight task is re-queued, at most maxSendRetries times", () => {
  const store = new AgentStore({ maxSendRetries: 1, nodeDisconnectionTimeoutMs: 10_000 });
  const a = store.retrieve("n1");
  const errors: unknown[] = [];
  const t = task("x", (e) => errors.push(e));
  a.attach();
  a.inFlight.set("x", t);
  a.detach();
  assert.equal(a.queue.length, 1);
  assert.equal(t.retries, 1);
  a.attach();
  a.queue.shift();
  a.inFlight.set("x", t);
  a.detach();
  assert.equal(a.queue.length, 0);
  assert.equal(errors.length, 1);
  store.dispose();
});

void test("small message is one chunk, large one several; reassembly is byte-exact", () => {
  const small = prepareChunks(new Message({ tag: "s", source: "a", destination: "b", payload: 1 }), 4096);
  assert.equal(small.count, 1);
  const arr = new Float32Array(10_000).map((_, i) => i * 0.5);
  const m = new Message({ tag: "big", source: "a", destination: "b", payload: { w: arr } });
  const big = prepareChunks(m, 4096);
  assert.ok(big.count > 5);
  const chunks = [...chunkData(big)];
  assert.equal(chunks.length, big.count);
  const r = new Reassembler();
  let out: Message | undefined;
  chunks.forEach((c, i) => (out = r.push(m.messageId, i, chunks.length, c)));
  assert.deepEqual((out?.payload as { w: Float32Array }).w, arr);
  assert.equal(r.pending, 0);
  assert.throws(() => r.push("z", 1, 3, new Uint8Array(4)), DecodeError);
});
