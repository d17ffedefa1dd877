// Tube benchmarks (JSON lines). In-process runners: epochs/s of counter → +1 → +1 → +1 → return against
// the same four functions called directly. ZMQRunner: the same graph, one process per node, against raw
// zeromq.js messages passed along a chain of 4 child processes and back (one in flight for lockstep,
// pipelined for free-run); 1 MiB Float32Array frames through 3 nodes against a raw 3-process chain.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { packValue, unpackValue } from "../src/core/codec.ts";
import { newIpcEndpoint } from "../src/transport/addresses.ts";
import { AsyncRunner, SynchronousRunner, Tube, ZMQRunner, type InProcessRunner } from "../src/tube/index.ts";
import { counter, increment } from "../examples/tube/nodes.ts";

const EX = fileURLToPath(new URL("../examples/tube/", import.meta.url));
const SPEC = `${EX}linear4.yaml`;
const DURATION_MS = 2500;

function line(bench: string, unit: string, value: number, baseline: number): void {
  console.log(
    JSON.stringify({
      bench,
      unit,
      value: Math.round(value),
      baseline: Math.round(baseline),
      ratio: +(value / baseline).toFixed(4),
    }),
  );
}

// Untimed warm-up before each timed ZeroMQ measurement: every run starts fresh node processes, and a
// process's JavaScript runs slower until the JIT has compiled its hot paths (a few thousand messages).
const WARMUP_MS = 2000;

async function timed(step: () => Promise<number>, warmupMs = 0): Promise<number> {
  const w0 = performance.now();
  while (performance.now() - w0 < warmupMs) await step();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < DURATION_MS) n += await step();
  return n / ((performance.now() - t0) / 1000);
}

// ---- raw zeromq.js relay chain (this file doubles as the relay child) ----
if (process.env.WEFT_BENCH_RELAY !== undefined) {
  const { input, output, raw } = JSON.parse(process.env.WEFT_BENCH_RELAY) as {
    input: string;
    output: string;
    raw: boolean;
  };
  const pull = new zmq.Pull({ linger: 0 });
  const push = new zmq.Push({ linger: 0 });
  await pull.bind(input);
  push.connect(output);
  process.on("disconnect", () => process.exit(0));
  for await (const frames of pull) {
    if (frames.length === 1 && frames[0]!.length === 1 && frames[0]![0] === 0xc0) break; // msgpack nil: quit
    if (raw) await push.send(frames);
    else {
      const v = unpackValue(frames[0]!, frames.slice(1)) as number;
      const { body, attachments } = packValue(v + 1);
      await push.send([body, ...attachments]);
    }
  }
  pull.close();
  push.close();
  process.exit(0);
}

async function relayChain(
  count: number,
  raw: boolean,
): Promise<{ push: zmq.Push; pull: zmq.Pull; stop(): Promise<void> }> {
  const back = newIpcEndpoint("bench-back");
  const inputs = Array.from({ length: count }, (_, i) => newIpcEndpoint(`bench-${i}`));
  const pull = new zmq.Pull({ linger: 0 });
  await pull.bind(back);
  const children: ChildProcess[] = inputs.map((input, i) =>
    spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: {
        ...process.env,
        WEFT_BENCH_RELAY: JSON.stringify({ input, output: inputs[i + 1] ?? back, raw }),
      },
    }),
  );
  const push = new zmq.Push({ linger: 0 });
  push.connect(inputs[0]!);
  return {
    push,
    pull,
    async stop() {
      for (const c of children) c.kill("SIGKILL");
      push.close();
      pull.close();
    },
  };
}

async function rawLinear(pipelined: boolean): Promise<number> {
  const chain = await relayChain(4, false);
  const send = (v: number): Promise<void> => {
    const { body } = packValue(v);
    return chain.push.send([body]);
  };
  await send(0);
  await chain.pull.receive(); // warm-up and readiness
  const depth = pipelined ? 64 : 1;
  const rate = await timed(async () => {
    for (let i = 0; i < depth; i++) await send(i);
    for (let i = 0; i < depth; i++) unpackValue((await chain.pull.receive())[0]!);
    return depth;
  }, WARMUP_MS);
  await chain.stop();
  return rate;
}

async function rawFrames(): Promise<number> {
  const chain = await relayChain(3, true);
  const frame = new Float32Array(262_144).fill(0.5);
  const msg = (): Uint8Array[] => {
    const { body, attachments } = packValue(frame);
    return [body, ...attachments];
  };
  await chain.push.send(msg());
  await chain.pull.receive();
  const depth = 16;
  const rate = await timed(async () => {
    for (let i = 0; i < depth; i++) await chain.push.send(msg());
    for (let i = 0; i < depth; i++) await chain.pull.receive();
    return depth;
  });
  await chain.stop();
  return (rate * frame.byteLength) / 1e6;
}

// ---- in-process runners ----
async function inProcess(make: (t: Tube) => InProcessRunner): Promise<number> {
  const runner = make(await Tube.fromSpecification(SPEC));
  await runner.run(500);
  const rate = await timed(async () => (await runner.run(200)).length);
  await runner.deinit();
  return rate;
}

function direct(): number {
  const src = counter();
  let n = 0;
  let sink = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < DURATION_MS) {
    for (let i = 0; i < 1000; i++) sink += increment(increment(increment(src.next().value as number)));
    n += 1000;
  }
  if (sink === -1) console.error(sink);
  return n / ((performance.now() - t0) / 1000);
}

const base = direct();
line("tube.sync_linear4", "epochs/s", await inProcess((t) => new SynchronousRunner(t)), base);
line("tube.async_linear4", "epochs/s", await inProcess((t) => new AsyncRunner(t)), base);

// ---- ZMQRunner ----
{
  const runner = new ZMQRunner(await Tube.fromSpecification(SPEC));
  await runner.run(200);
  const lockstep = await timed(async () => {
    for (let i = 0; i < 20; i++) await runner.process();
    return 20;
  }, WARMUP_MS);
  const freerun = await timed(async () => (await runner.run(500)).length, WARMUP_MS);
  await runner.deinit();
  line("tube.zmq_linear4_lockstep", "epochs/s", lockstep, await rawLinear(false));
  line("tube.zmq_linear4_freerun", "epochs/s", freerun, await rawLinear(true));
}
{
  const runner = new ZMQRunner(
    await Tube.fromSpecification(
      {
        nodes: {
          src: { type: "./nodes.ts#frames" },
          mid: { type: "./nodes.ts#passThrough", depends: "src.value" },
          end: { type: "./nodes.ts#frameLength", depends: "mid.value" },
          out: { type: "return", depends: "end.value" },
        },
      },
      { baseDir: EX },
    ),
    { maxInFlightEpochs: 16 },
  );
  await runner.run(10);
  const rate = await timed(async () => (await runner.run(32)).length);
  await runner.deinit();
  line("tube.zmq_frame_1mib", "MB/s", (rate * 262_144 * 4) / 1e6, await rawFrames());
}
