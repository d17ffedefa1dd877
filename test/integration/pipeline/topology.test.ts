import { test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Parallel, Task, type ParallelOptions } from "../../../src/pipeline/index.ts";

const JOB = "./test/helpers/pipeline-job.ts";
const PEER = fileURLToPath(new URL("../../helpers/pipeline-peer.ts", import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const jobId = (): string => `t${randomBytes(4).toString("hex")}`;
const port = (): number => 20000 + Math.floor(Math.random() * 12000);

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms))),
  ]);
}

/** Starts every router together; if one fails, closes the others before rethrowing. */
async function startAll(options: ParallelOptions[]): Promise<Parallel[]> {
  const started = await Promise.allSettled(options.map((o) => Parallel.start(o)));
  const failed = started.find((s) => s.status === "rejected");
  if (failed === undefined) return started.map((s) => (s as PromiseFulfilledResult<Parallel>).value);
  for (const s of started) if (s.status === "fulfilled") await s.value.close({ flushTimeoutMs: 0 });
  throw failed.reason;
}

void test("1 mesh + 2 alone nodes attached over TCP all exit when one finishes", async () => {
  const ports = port();
  const attachTo = [`tcp://127.0.0.1:${ports}`, `tcp://127.0.0.1:${ports + 1}`];
  const env = process.env.WEFT_TEST_EXPECT_LINKS;
  // The workers inherit the environment at fork time: set it per runner, synchronously.
  process.env.WEFT_TEST_EXPECT_LINKS = "3";
  const mesh = Parallel.runner({ nParallelWorkers: 2, protocol: "tcp", ports })(`${JOB}#attached`);
  process.env.WEFT_TEST_EXPECT_LINKS = "2";
  const alone = Parallel.runner({
    nParallelWorkers: 2,
    topology: "alone",
    nodeIds: 2,
    protocol: "tcp",
    ports,
    attachTo,
  })(`${JOB}#attached`);
  if (env === undefined) delete process.env.WEFT_TEST_EXPECT_LINKS;
  else process.env.WEFT_TEST_EXPECT_LINKS = env;
  await deadline(Promise.all([mesh, alone]), 45_000, "the job did not end");
});

void test("star: leaves reach the centre, the centre reaches every leaf, finish is relayed leaf to leaf", async () => {
  const base = { nParallelWorkers: 3, jobId: jobId(), topology: "star" as const };
  const routers = await Promise.all([0, 1, 2].map((nodeId) => Parallel.start({ ...base, nodeId })));
  const tasks = routers.map((router) => new Task().start({ router }));
  const [t0, t1, t2] = tasks as [Task, Task, Task];
  try {
    assert.deepEqual(
      routers.map((r) => r.getAttachToLen()),
      [2, 1, 1],
    );
    const atCentre = t0.waitFor("up", { timeoutMs: 5000 });
    let leafToLeaf = 0;
    t2.on("up", () => leafToLeaf++);
    t1.emit("up", 1);
    assert.deepEqual(await atCentre, [1]);
    const down = [t1.waitFor("down", { timeoutMs: 5000 }), t2.waitFor("down", { timeoutMs: 5000 })];
    t0.emit("down", "all");
    assert.deepEqual(await Promise.all(down), [["all"], ["all"]]);
    // Leaves are not linked: the centre does not forward ordinary events.
    assert.equal(leafToLeaf, 0);
    t2.use(() => new Promise<void>((r) => setImmediate(r)));
    const running = t2.run();
    await t1.stop();
    await deadline(running, 10_000, "leaf 2 did not finish");
    assert.equal(t2.finish, true);
    assert.equal(t0.finish, true);
  } finally {
    for (const t of tasks) await t.stop();
    for (const r of routers) await r.close();
  }
});

void test("a node keeps running when its peer has exited; sends to it stay bounded", async () => {
  const options: ParallelOptions = { nodeId: 1, nParallelWorkers: 2, jobId: jobId() };
  const child = fork(PEER, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, WEFT_TEST_ROUTER: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    const router = await Parallel.start({
      ...options,
      nodeId: 0,
      maxQueuedWhilePeerDown: 1000,
      sendHighWaterMark: 4,
    });
    const t = new Task().start({ router });
    try {
      await deadline(new Promise((r) => child.once("message", r)), 20_000, "peer not ready");
      const down = new Promise<void>((resolve) =>
        router.onPeerState((p) => {
          if (p.state === "down") resolve();
        }),
      );
      child.kill("SIGKILL");
      await exited;
      await deadline(down, 10_000, "the peer's exit was not noticed");
      let steps = 0;
      t.use(() => {
        steps++;
        for (let i = 0; i < 500; i++) t.emit("data", i);
      });
      await deadline(t.run({ maxStep: 100 }), 20_000, "the node stopped running");
      assert.equal(steps, 100);
      const [peer] = router.peers();
      assert.ok((peer?.queued ?? 0) <= 1000, `queued ${peer?.queued}`);
      // What ZeroMQ holds is bounded by the send high-water mark; the rest is dropped and counted.
      assert.ok(router.droppedSends > 0, `dropped ${router.droppedSends}`);
    } finally {
      await t.stop();
      await router.close();
    }
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
});

void test("Redis discovery: tcp nodes on ephemeral ports find each other by job id", async () => {
  const base = { nParallelWorkers: 2, jobId: jobId(), protocol: "tcp" as const, redisUrl: REDIS_URL };
  const routers = await Promise.all([0, 1].map((nodeId) => Parallel.start({ ...base, nodeId })));
  const [t0, t1] = routers.map((router) => new Task().start({ router })) as [Task, Task];
  try {
    assert.notEqual(routers[0]?.endpoint, routers[1]?.endpoint);
    const got = t1.waitFor("model", { timeoutMs: 5000 });
    t0.emit("model", new Float32Array([1, 2]));
    assert.deepEqual([...((await got)?.[0] as Float32Array)], [1, 2]);
  } finally {
    await t0.stop();
    await t1.stop();
    for (const r of routers) await r.close();
  }
});

void test("attachTo may name a node differently from its advertised endpoint: one link each way, no duplicates", async () => {
  const [a, b] = [port(), port()];
  // Each node is alone in its group and dials the other as "localhost" while the other advertises 127.0.0.1.
  const common = {
    nParallelWorkers: 1,
    topology: "alone" as const,
    protocol: "tcp" as const,
    startTimeoutMs: 10_000,
  };
  const routers = await startAll([
    { ...common, nodeId: 0, ports: a, attachTo: [`tcp://localhost:${b}`] },
    { ...common, nodeId: 1, firstNodeId: 1, ports: b - 1, attachTo: [`tcp://localhost:${a}`] },
  ]);
  const [t0, t1] = routers.map((router) => new Task().start({ router })) as [Task, Task];
  try {
    assert.deepEqual(
      routers.map((r) => r.getAttachToLen()),
      [1, 1],
    );
    let got = 0;
    t1.on("x", () => got++);
    const end = t1.waitFor("end", { timeoutMs: 5000 });
    for (let i = 0; i < 10; i++) t0.emit("x", i);
    t0.emit("end");
    await end;
    assert.equal(got, 10);
    const back = t0.waitFor("back", { timeoutMs: 5000 });
    t1.emit("back", 1);
    assert.deepEqual(await back, [1]);
  } finally {
    await t0.stop();
    await t1.stop();
    for (const r of routers) await r.close();
  }
});

void test("a node that attaches after the job finished is told so and finishes", async () => {
  const ports = port();
  const first = await Parallel.start({ nodeId: 0, nParallelWorkers: 1, protocol: "tcp", ports });
  const t0 = new Task().start({ router: first });
  let late: Parallel | undefined;
  let t1: Task | undefined;
  try {
    t0.finish = true;
    late = await Parallel.start({
      nodeId: 1,
      firstNodeId: 1,
      nParallelWorkers: 1,
      topology: "alone",
      protocol: "tcp",
      ports,
      attachTo: [`tcp://127.0.0.1:${ports}`],
    });
    t1 = new Task().start({ router: late });
    t1.use(() => new Promise<void>((r) => setImmediate(r)));
    await deadline(t1.run(), 10_000, "the late node did not finish");
    assert.equal(t1.finish, true);
  } finally {
    await t1?.stop();
    await t0.stop();
    await late?.close();
    await first.close();
  }
});
