// launch benchmarks (JSON lines):
// - launch.cartpole_es: the CartPole ES example run by `weft launch` (5 processes): training iterations/s,
//   with the wall time of the whole job (start of the launcher to the last exit) in `wall_s`; baseline:
//   the same seeded training in one process (no messaging), measured in this run.
// - proxy.isend_64b_metrics_on: one-way 64-byte isends from this process to a child (bench/proxy-child.ts)
//   with ProxyMetrics tracking the sender and collecting every 100 ms (10× the launcher's rate); baseline:
//   the same traffic with metrics off, in this run. Off and on windows alternate
//   8 times (order swapped every round); the medians count.
import { fork, type ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Message } from "../src/core/message.ts";
import { loadJobFile } from "../src/launch/job-schema.ts";
import { launchJob } from "../src/launch/launch-job.ts";
import { ProxyMetrics } from "../src/observability/proxy-metrics.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import { trainInProcess } from "../examples/cartpole-es/es.ts";
import type { ChildReport, ChildRole } from "./proxy-child.ts";

const JOB = fileURLToPath(new URL("../examples/cartpole-es/job.yaml", import.meta.url));
const CHILD = fileURLToPath(new URL("./proxy-child.ts", import.meta.url));
const WINDOW_MS = Number(process.env.WEFT_BENCH_MS ?? 600);

function line(
  bench: string,
  unit: string,
  value: number,
  baseline: number,
  extra: Record<string, number> = {},
): void {
  const r = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench,
      unit,
      value: r(value),
      baseline: r(baseline),
      ratio: +(value / baseline).toFixed(4),
      ...extra,
    }),
  );
}

function inProcess(): { iterations: number; seconds: number } {
  const t0 = performance.now();
  const { es, iterations } = trainInProcess(1);
  es.evaluate();
  return { iterations, seconds: (performance.now() - t0) / 1000 };
}

async function cartpole(): Promise<void> {
  let out = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const t0 = performance.now();
  const status = await launchJob(await loadJobFile(JOB), {
    group: `bench-cartpole-${process.pid}`,
    stdout: sink,
    stderr: sink,
  }).catch((err: unknown) => {
    throw new Error(`the cartpole job failed:\n${out}`, { cause: err });
  });
  const wall = (performance.now() - t0) / 1000;
  const m = /after (\d+) iterations in ([\d.]+) s/.exec(out);
  if (status !== 0 || !m) throw new Error(`the cartpole job failed (status ${status}):\n${out}`);
  const iterations = Number(m[1]);
  // Training time as the learner measured it (two decimals; never zero).
  const seconds = Math.max(Number(m[2]), 0.01);
  const base = inProcess();
  line("launch.cartpole_es", "iterations/s", iterations / seconds, base.iterations / base.seconds, {
    wall_s: Math.round(wall * 100) / 100,
    iterations,
  });
}

function startSink(group: string): Promise<{ stop(): Promise<void> }> {
  const role: ChildRole = { kind: "weft-sink", group, name: "worker.0" };
  const proc: ChildProcess = fork(CHILD, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, WEFT_BENCH_PROXY_CHILD: JSON.stringify(role) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error("sink child not ready within 30 s"));
    }, 30_000);
    proc.once("message", (_m: ChildReport) => {
      clearTimeout(timer);
      resolve({
        async stop() {
          proc.send("quit", () => {});
          const hard = setTimeout(() => proc.kill("SIGKILL"), 4000);
          await exited;
          clearTimeout(hard);
        },
      });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function isendRate(master: Proxy): Promise<number> {
  const payload = new Uint8Array(64).fill(7);
  const burst = async (): Promise<number> => {
    for (let i = 0; i < 1000; i++)
      await master.isend(new Message({ tag: "x", source: master.name, destination: "worker.0", payload }));
    return 1000;
  };
  const drain = (): Promise<unknown> =>
    master.send(new Message({ tag: "end", source: master.name, destination: "worker.0" }), {
      timeoutMs: 30_000,
    });
  const warm = performance.now();
  while (performance.now() - warm < 100) await burst();
  await drain();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < WINDOW_MS) n += await burst();
  await drain();
  return n / ((performance.now() - t0) / 1000);
}

async function metricsOverhead(): Promise<void> {
  const group = `bench-launch-metrics-${process.pid}`;
  const [master, sink] = await Promise.all([
    Proxy.create({
      groupName: group,
      componentType: "master",
      componentName: "master",
      expectedPeers: { worker: 1 },
    }),
    startSink(group),
  ]);
  try {
    // Throughput drifts during a run (GC, other load on the machine): alternate short off/on windows,
    // swapping their order every round, and compare the medians.
    const off: number[] = [];
    const on: number[] = [];
    const metrics = new ProxyMetrics();
    const measureOn = async (): Promise<void> => {
      const untrack = metrics.track(master);
      const timer = setInterval(() => void metrics.registry.getMetricsAsJSON(), 100);
      try {
        on.push(await isendRate(master));
      } finally {
        clearInterval(timer);
        untrack();
      }
    };
    for (let round = 0; round < 8; round++) {
      if (round % 2 === 0) {
        off.push(await isendRate(master));
        await measureOn();
      } else {
        await measureOn();
        off.push(await isendRate(master));
      }
    }
    line("proxy.isend_64b_metrics_on", "msg/s", median(on), median(off));
  } finally {
    await Promise.all([master.close(), sink.stop()]);
  }
}

await cartpole();
await metricsOverhead();
