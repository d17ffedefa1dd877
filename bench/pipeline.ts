/**
 * pipeline benchmarks.
 * - `local_steps_*`: steps/s of `Task.run` with five no-op middlewares of each kind. Baseline: DI-engine's
 *   ~260 000 steps/s (sync) on this machine kind, the figure the issue gives (DI-engine is Python and
 *   cannot be measured in this run).
 * - `remote_*`: two processes, weft task events against raw zeromq.js PUSH/PULL measured in the same run.
 *   The machine is shared, so each is measured in alternating rounds and the best round of each counts.
 * - `dqn_shape`: learner iterations/s of `examples/distributed-dqn` with zero compute, 4 processes.
 *   Baseline: DI-engine's ~80 iterations/s on this machine kind (the figure).
 */
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Pull, Push } from "zeromq";
import { newIpcEndpoint } from "../src/transport/addresses.ts";
import { Parallel, Task, type Middleware } from "../src/pipeline/index.ts";

const DI_ENGINE_SYNC_STEPS = 260_000;
const DI_ENGINE_DQN_ITERATIONS = 80;

async function stepsPerSecond(make: () => Middleware, asyncMode: boolean): Promise<number> {
  const measure = async (steps: number): Promise<number> => {
    const t = new Task().start({ asyncMode });
    for (let i = 0; i < 5; i++) t.use(make());
    const t0 = performance.now();
    await t.run({ maxStep: steps });
    const dt = performance.now() - t0;
    await t.stop();
    return steps / (dt / 1000);
  };
  await measure(20_000); // warm-up
  return measure(asyncMode ? 200_000 : 1_000_000);
}

function line(name: string, unit: string, value: number, baseline: number): void {
  const r = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench: `pipeline.${name}`,
      unit,
      value: r(value),
      baseline,
      ratio: r(value / baseline),
    }),
  );
}

const noop = (): Middleware => () => undefined;
const gen = (): Middleware =>
  function* () {
    yield;
  };
const asyncFn = (): Middleware => async () => undefined;

/**
 * Events per block, blocks per bench: raw and weft blocks alternate, so both see the same machine load.
 * The first `warmup` blocks of each are not counted: until the JIT has compiled the hot paths, a round
 * trip through weft's JavaScript costs up to twice as much (measured: the median ping-pong latency falls
 * from 0.34 to 0.17-0.20 ms over the first 4 000-5 000 round trips), so the timed blocks measure the
 * steady state of a long job, as the other benchmarks do.
 */
const BENCH = {
  burst: { block: 10_000, blocks: 10, warmup: 1 },
  big: { block: 200, blocks: 10, warmup: 1 },
  ping: { block: 500, blocks: 10, warmup: 12 },
} as const;
type Mode = keyof typeof BENCH;
const BIG_BYTES = 140 * 1024;
const role = process.env.WEFT_BENCH_ROLE;
if (role !== undefined) await peer(role);
else await main();

/**
 * The second process: a raw PULL/PUSH pair and a weft node side by side. It acknowledges every block
 * (raw: "ack" after `block` messages; weft: an `ack` event), and answers every message in ping mode.
 */
async function peer(kind: string): Promise<void> {
  const [mode, jobId, a, b] = kind.split("|") as [Mode, string, string, string];
  const { block, blocks: timed, warmup } = BENCH[mode];
  const blocks = warmup + timed;
  const pull = new Pull();
  await pull.bind(a);
  const push = new Push();
  push.connect(b);
  const router = await Parallel.start({ nodeId: 1, nParallelWorkers: 2, jobId });
  const t = new Task().start({ router });
  let count = 0;
  t.on("x", () => {
    if (mode === "ping") t.emitRemote("pong");
    else if (++count % block === 0) t.emitRemote("ack");
  });
  await push.send("ready");
  for (let k = 0; k < blocks; k++) {
    for (let i = 0; i < block; i++) {
      await pull.receive();
      if (mode === "ping") await push.send("pong");
    }
    if (mode !== "ping") await push.send("ack");
  }
  await t.waitFor("bye", { timeoutMs: 120_000 });
  await t.stop();
  await router.close();
  push.close();
  pull.close();
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
}

/** Median block rates (messages/s) of raw zeromq.js and of weft task events, measured alternately. */
async function remote(mode: Mode, frame: Uint8Array, payload: unknown): Promise<[number, number]> {
  const { block, blocks: timed, warmup } = BENCH[mode];
  const blocks = warmup + timed;
  const jobId = `b${randomBytes(4).toString("hex")}`;
  const mine = newIpcEndpoint("bench-a");
  const theirs = newIpcEndpoint("bench-b");
  const pull = new Pull();
  await pull.bind(mine);
  const child = spawnPeer(`${mode}|${jobId}|${theirs}|${mine}`);
  const exited = new Promise((r) => child.once("exit", r));
  const push = new Push();
  push.connect(theirs);
  const router = await Parallel.start({ nodeId: 0, nParallelWorkers: 2, jobId });
  const t = new Task().start({ router });
  await pull.receive(); // ready
  const rawRates: number[] = [];
  const weftRates: number[] = [];
  for (let k = 0; k < blocks; k++) {
    let t0 = performance.now();
    for (let i = 0; i < block; i++) {
      await push.send(frame);
      if (mode === "ping") await pull.receive();
    }
    if (mode !== "ping") await pull.receive();
    rawRates.push(block / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    if (mode === "ping") {
      for (let i = 0; i < block; i++) {
        const pong = t.waitFor("pong", { timeoutMs: 10_000 });
        t.emitRemote("x", payload);
        await pong;
      }
    } else {
      const ack = t.waitFor("ack", { timeoutMs: 60_000 });
      for (let i = 0; i < block; i++) t.emitRemote("x", payload);
      await ack;
    }
    weftRates.push(block / ((performance.now() - t0) / 1000));
  }
  t.emitRemote("bye");
  await exited;
  await t.stop();
  await router.close();
  push.close();
  pull.close();
  return [median(weftRates.slice(warmup)), median(rawRates.slice(warmup))];
}

function spawnPeer(kind: string): ReturnType<typeof fork> {
  return fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, WEFT_BENCH_ROLE: kind },
    stdio: "inherit",
  });
}

/** Learner iterations/s of the distributed DQN example, zero compute, 4 processes (best of 2 runs). */
async function dqnShape(): Promise<number> {
  let best = 0;
  for (let r = 0; r < 2; r++) {
    const dir = mkdtempSync(join(tmpdir(), "weft-dqn-bench-"));
    const saved = { ...process.env };
    try {
      process.env.WEFT_DQN_ITERATIONS = "2000";
      process.env.WEFT_DQN_ZERO_COMPUTE = "1";
      process.env.WEFT_DQN_REPORT = dir;
      const run = Parallel.runner({ nParallelWorkers: 4 })("./examples/distributed-dqn/main.ts#main");
      process.env = saved;
      await run;
      const learner = JSON.parse(readFileSync(join(dir, "node-0.json"), "utf8")) as {
        iterationsPerSecond: number;
      };
      best = Math.max(best, learner.iterationsPerSecond);
    } finally {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return best;
}

async function main(): Promise<void> {
  line("local_steps_sync", "steps/s", await stepsPerSecond(noop, false), DI_ENGINE_SYNC_STEPS);
  line("local_steps_generator", "steps/s", await stepsPerSecond(gen, false), DI_ENGINE_SYNC_STEPS);
  line("local_steps_async", "steps/s", await stepsPerSecond(asyncFn, true), DI_ENGINE_SYNC_STEPS);
  const small = new Uint8Array(16);
  const [burst, burstRaw] = await remote("burst", small, small);
  line("remote_event_burst_16b", "events/s", burst, Math.round(burstRaw));
  const [ping, pingRaw] = await remote("ping", small, small);
  line("remote_ping_pong", "round trips/s", ping, Math.round(pingRaw));
  // One array for every event, never modified: payloads travel without copying.
  const [big, bigRaw] = await remote("big", new Uint8Array(BIG_BYTES), new Float32Array(BIG_BYTES / 4));
  const mb = BIG_BYTES / 1e6;
  line("remote_event_burst_140kib", "MB/s", big * mb, Math.round(bigRaw * mb * 100) / 100);
  line("dqn_shape", "iterations/s", await dqnShape(), DI_ENGINE_DQN_ITERATIONS);
}
