import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Parallel, Task } from "../../../src/pipeline/index.ts";

async function pair(protocol: "ipc" | "tcp" = "ipc"): Promise<[Parallel, Parallel]> {
  const jobId = `t${randomBytes(4).toString("hex")}`;
  const ports = protocol === "tcp" ? 20000 + Math.floor(Math.random() * 12000) : undefined;
  const base = { nParallelWorkers: 2, jobId, protocol, ...(ports === undefined ? {} : { ports }) };
  // Node 1 starts first and waits: the handshake completes whichever node binds later.
  return Promise.all([Parallel.start({ ...base, nodeId: 0 }), Parallel.start({ ...base, nodeId: 1 })]);
}

void test("remote emit reaches the other node and not the sender's own listener; labels", async () => {
  const [r0, r1] = await pair();
  const t0 = new Task().start({ router: r0 });
  const t1 = new Task().start({ router: r1 });
  try {
    assert.ok(t0.labels.has("distributed") && t1.labels.has("node.1"));
    let own = 0;
    t0.on("greet", () => own++);
    const got = t1.waitFor("greet", { timeoutMs: 5000 });
    t0.emitRemote("greet", "hi", new Float32Array([1, 2, 3]));
    const args = await got;
    assert.equal(args?.[0], "hi");
    assert.deepEqual([...(args?.[1] as Float32Array)], [1, 2, 3]);
    assert.equal(own, 0);
  } finally {
    await t0.stop();
    await t1.stop();
    await r0.close();
    await r1.close();
  }
});

void test("two listeners each get every remote message once; off(event, fn) keeps the other", async () => {
  const [r0, r1] = await pair("tcp");
  const t0 = new Task().start({ router: r0 });
  const t1 = new Task().start({ router: r1 });
  try {
    const a: number[] = [];
    const b: number[] = [];
    const fa = (n: number): void => void a.push(n);
    t1.on("n", fa);
    t1.on("n", (n: number) => b.push(n));
    t0.emit("n", 1);
    await t1.waitFor("n", { timeoutMs: 5000 });
    t1.off("n", fa);
    t0.emit("n", 2);
    await t1.waitFor("n", { timeoutMs: 5000 });
    assert.deepEqual(a, [1]);
    assert.deepEqual(b, [1, 2]);
  } finally {
    await t0.stop();
    await t1.stop();
    await r0.close();
    await r1.close();
  }
});

void test("10 000 sequential remote emits arrive complete and in order; finish reaches the peer", async () => {
  const [r0, r1] = await pair();
  const t0 = new Task().start({ router: r0 });
  const t1 = new Task().start({ router: r1 });
  try {
    const got: number[] = [];
    const done = t1.waitFor("last", { timeoutMs: 20_000 });
    t1.on("seq", (i: number) => got.push(i));
    for (let i = 0; i < 10_000; i++) t0.emit("seq", i);
    t0.emit("last");
    await done;
    assert.equal(got.length, 10_000);
    assert.ok(got.every((v, i) => v === i));
    // finish: t1 loops until the other node stops.
    t1.use(async () => new Promise((r) => setImmediate(r)));
    const running = t1.run();
    await t0.stop();
    await running;
    assert.equal(t1.finish, true);
  } finally {
    await t0.stop();
    await t1.stop();
    await r0.close();
    await r1.close();
  }
});
