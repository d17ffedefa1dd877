// Proxy benchmarks (JSON lines). Every case runs the weft Proxy between this process and child processes
// (bench/proxy-child.ts) over TCP loopback, then the same traffic on raw zeromq.js sockets in the same run:
// - isend_64b: one-way 64-byte messages, msg/s, vs raw PUSH/PULL; isend_64b_window64: the same with 64
//   isend calls in flight;
// - send_reply_64b: one request in flight, round trips/s, vs raw DEALER/ROUTER;
// - send_reply_64b_pipelined: 64 requests in flight, vs raw DEALER/ROUTER with 64 in flight;
// - scatter_gather_2: master → 2 workers and both replies, round trips/s, vs raw PUSH per worker + PULL;
// - send_16mib: a 16 MiB Float32Array to a worker and a small reply, MB/s, vs raw PUSH + PULL for the reply.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { Message, SessionMessage, SessionType } from "../src/core/message.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import type { ChildReport, ChildRole } from "./proxy-child.ts";

const CHILD = fileURLToPath(new URL("./proxy-child.ts", import.meta.url));
const DURATION_MS = Number(process.env.WEFT_BENCH_MS ?? 1200);
// Untimed warm-up of every run. Each run starts fresh child processes, and until the JIT has compiled a
// child's hot paths a weft round trip costs up to twice its steady-state time (measured: request/reply
// climbs from about 2 600 to 4 700 round trips/s over the first 5 000, then stays): 2 s covers that.
const WARMUP_MS = Number(process.env.WEFT_BENCH_WARMUP_MS ?? 2000);
const PIPELINE = 64;
const BIG_BYTES = 16 * 1024 * 1024;

function line(bench: string, unit: string, value: number, baseline: number): void {
  console.log(
    JSON.stringify({
      bench: `proxy.${bench}`,
      unit,
      value: Math.round(value),
      baseline: Math.round(baseline),
      ratio: +(value / baseline).toFixed(4),
    }),
  );
}

interface Child {
  address: string | undefined;
  stop(): Promise<void>;
}

/** Forks a child with `role`; resolves once it reports ready (deadline 30 s). */
function startChild(role: ChildRole): Promise<Child> {
  const proc: ChildProcess = fork(CHILD, [], {
    // WEFT_BENCH_CHILD_ARGS (e.g. "--cpu-prof") profiles the children.
    execArgv: ["--import", "tsx", ...(process.env.WEFT_BENCH_CHILD_ARGS?.split(" ").filter(Boolean) ?? [])],
    env: { ...process.env, WEFT_BENCH_PROXY_CHILD: JSON.stringify(role) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.send("quit", () => {});
      const timer = setTimeout(() => proc.kill("SIGKILL"), 4000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`child ${role.kind} not ready within 30 s`));
    }, 30_000);
    proc.once("message", (m: ChildReport) => {
      clearTimeout(timer);
      resolve({ address: m.address, stop });
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child ${role.kind} exited with ${code}`));
    });
  });
}

/**
 * Runs `step` (which returns the units it completed) for WARMUP_MS untimed, then DURATION_MS timed; the
 * timed span ends after `finish` (e.g. waiting until the receiver has counted every one-way message).
 */
async function rate(step: () => Promise<number>, finish?: () => Promise<unknown>): Promise<number> {
  const warm = performance.now();
  while (performance.now() - warm < WARMUP_MS) await step();
  await finish?.();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < DURATION_MS) n += await step();
  await finish?.();
  return n / ((performance.now() - t0) / 1000);
}

/** Starts a master proxy and `workers` weft children of `kind` in a fresh group. */
async function weftGroup(
  kind: ChildRole["kind"],
  workers: number,
): Promise<{ master: Proxy; names: string[]; stop(): Promise<void> }> {
  const group = `bench-proxy-${process.pid}-${Date.now()}-${kind}`;
  const names = Array.from({ length: workers }, (_, i) => `worker.${i}`);
  const [master, ...children] = await Promise.all([
    Proxy.create({
      groupName: group,
      componentType: "master",
      componentName: "master",
      expectedPeers: { worker: workers },
    }),
    ...names.map((name) => startChild({ kind, group, name })),
  ]);
  const stop = async (): Promise<void> => {
    await Promise.all([master.close(), ...children.map((c) => (c as Child).stop())]);
  };
  return { master: master as Proxy, names, stop };
}

const payload64 = new Uint8Array(64).fill(7);

// ---- isend_64b ----

/** One-way isend: `window` calls in flight at a time (1 = each awaited before the next). */
async function weftIsend(window: number): Promise<number> {
  const g = await weftGroup("weft-sink", 1);
  try {
    const to = g.names[0]!;
    const drain = (): Promise<Message[]> =>
      g.master.send(new Message({ tag: "end", source: "master", destination: to }), { timeoutMs: 30_000 });
    const one = (): Promise<string[]> =>
      g.master.isend(new Message({ tag: "x", source: "master", destination: to, payload: payload64 }));
    const burst = async (): Promise<number> => {
      if (window === 1) for (let i = 0; i < 1024; i++) await one();
      else for (let i = 0; i < 1024; i += window) await Promise.all(Array.from({ length: window }, one));
      return 1024;
    };
    // The span includes the drain: every message is counted by the receiver.
    return await rate(burst, drain);
  } finally {
    await g.stop();
  }
}

async function rawIsend(): Promise<number> {
  const back = new zmq.Pull({ linger: 0 });
  await back.bind("tcp://127.0.0.1:0");
  const child = await startChild({ kind: "raw-sink", replyTo: back.lastEndpoint! });
  const push = new zmq.Push({ linger: 0 });
  push.connect(child.address!);
  try {
    const frame = Buffer.from(payload64);
    return await rate(
      async () => {
        for (let i = 0; i < 1024; i++) await push.send(frame);
        return 1024;
      },
      async () => {
        await push.send("end");
        await back.receive();
      },
    );
  } finally {
    push.close();
    back.close();
    await child.stop();
  }
}

// ---- send_reply_64b (1 and 64 in flight) ----

async function weftSendReply(inFlight: number): Promise<number> {
  const g = await weftGroup("weft-echo", 1);
  try {
    const to = g.names[0]!;
    const one = async (): Promise<void> => {
      const r = await g.master.send(
        new SessionMessage({
          tag: "echo",
          source: "master",
          destination: to,
          payload: payload64,
          sessionType: SessionType.TASK,
        }),
      );
      if (r.length !== 1) throw new Error("expected one reply");
    };
    return await rate(async () => {
      await Promise.all(Array.from({ length: inFlight }, async () => one()));
      return inFlight;
    });
  } finally {
    await g.stop();
  }
}

async function rawSendReply(inFlight: number): Promise<number> {
  const child = await startChild({ kind: "raw-echo" });
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(child.address!);
  const frame = Buffer.from(payload64);
  try {
    return await rate(async () => {
      for (let i = 0; i < inFlight; i++) await dealer.send(frame);
      for (let i = 0; i < inFlight; i++) await dealer.receive();
      return inFlight;
    });
  } finally {
    dealer.close();
    await child.stop();
  }
}

// ---- scatter_gather_2 ----

async function weftScatter(): Promise<number> {
  const g = await weftGroup("weft-echo", 2);
  try {
    return await rate(async () => {
      const r = await g.master.scatter(
        "work",
        SessionType.TASK,
        g.names.map((n) => [n, payload64]),
      );
      if (r.length !== 2) throw new Error("expected two replies");
      return 1;
    });
  } finally {
    await g.stop();
  }
}

async function rawScatter(): Promise<number> {
  const back = new zmq.Pull({ linger: 0 });
  await back.bind("tcp://127.0.0.1:0");
  const children = await Promise.all(
    [0, 1].map(() => startChild({ kind: "raw-pull-echo", replyTo: back.lastEndpoint! })),
  );
  const pushes = children.map((c) => {
    const p = new zmq.Push({ linger: 0 });
    p.connect(c.address!);
    return p;
  });
  const frame = Buffer.from(payload64);
  try {
    return await rate(async () => {
      await Promise.all(pushes.map((p) => p.send(frame)));
      await back.receive();
      await back.receive();
      return 1;
    });
  } finally {
    for (const p of pushes) p.close();
    back.close();
    await Promise.all(children.map((c) => c.stop()));
  }
}

// ---- send_16mib ----

async function weftBig(): Promise<number> {
  const g = await weftGroup("weft-echo", 1);
  try {
    const to = g.names[0]!;
    const weights = new Float32Array(BIG_BYTES / 4).fill(0.5);
    const perSecond = await rate(async () => {
      const r = await g.master.send(
        new SessionMessage({
          tag: "weights",
          source: "master",
          destination: to,
          payload: weights,
          sessionType: SessionType.TASK,
        }),
      );
      if (r[0]?.payload !== 1) throw new Error("unexpected reply");
      return 1;
    });
    return (perSecond * BIG_BYTES) / 1e6;
  } finally {
    await g.stop();
  }
}

async function rawBig(): Promise<number> {
  // PUSH to the worker and a PULL for its reply: the same socket types the proxy uses.
  const back = new zmq.Pull({ linger: 0 });
  await back.bind("tcp://127.0.0.1:0");
  const child = await startChild({ kind: "raw-pull-echo", replyTo: back.lastEndpoint! });
  const push = new zmq.Push({ linger: 0 });
  push.connect(child.address!);
  const frame = Buffer.from(new Float32Array(BIG_BYTES / 4).fill(0.5).buffer);
  try {
    const perSecond = await rate(async () => {
      await push.send(frame);
      await back.receive();
      return 1;
    });
    return (perSecond * BIG_BYTES) / 1e6;
  } finally {
    push.close();
    back.close();
    await child.stop();
  }
}

// ---- run ----

const cases: [string, string, () => Promise<number>, () => Promise<number>][] = [
  ["isend_64b", "msg/s", () => weftIsend(1), rawIsend],
  // The same one-way traffic with 64 isend calls in flight (how a sender that does not wait for each
  // message uses the proxy: the messages queued meanwhile leave as one ZeroMQ message). Raw zeromq.js
  // allows one send in flight per socket, so its baseline is the same sequential PUSH loop.
  ["isend_64b_window64", "msg/s", () => weftIsend(PIPELINE), rawIsend],
  ["send_reply_64b", "round trips/s", () => weftSendReply(1), () => rawSendReply(1)],
  ["send_reply_64b_pipelined", "round trips/s", () => weftSendReply(PIPELINE), () => rawSendReply(PIPELINE)],
  ["scatter_gather_2", "round trips/s", weftScatter, rawScatter],
  ["send_16mib", "MB/s", weftBig, rawBig],
];
// Raw and weft alternate and the best of ROUNDS runs of each counts, so that a burst of load from other
// processes on the machine does not decide a ratio. WEFT_BENCH_ONLY=a,b runs only the named cases.
const ROUNDS = Number(process.env.WEFT_BENCH_ROUNDS ?? 3);
const only = process.env.WEFT_BENCH_ONLY;
for (const [name, unit, weft, raw] of cases) {
  if (only !== undefined && !only.split(",").includes(name)) continue;
  let baseline = 0;
  let value = 0;
  for (let round = 0; round < ROUNDS; round++) {
    baseline = Math.max(baseline, await raw());
    value = Math.max(value, await weft());
  }
  line(name, unit, value, baseline);
}
