// Federated transport benchmarks: weft researcher ⇄ nodes against raw grpc-js streams, nodes in a child
// process. Run: npm run bench -- federated. This file is also the child (argv[2] = "child").
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { ResearcherServer, NodeClient } from "../src/federated/index.ts";
import { Message } from "../src/core/message.ts";
import { DummyLogger } from "../src/core/logger.ts";

const SELF = fileURLToPath(import.meta.url);
const CHUNK = 4 * 1024 * 1024 - 4096;
const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const rawService: grpc.ServiceDefinition = {
  Echo: {
    path: "/bench.Raw/Echo",
    requestStream: true,
    responseStream: true,
    requestSerialize: identity.serialize,
    requestDeserialize: identity.deserialize,
    responseSerialize: identity.serialize,
    responseDeserialize: identity.deserialize,
  },
};
// The raw clients get the same 16 MiB HTTP/2 flow-control window as weft's NodeClient by default, so both
// sides of each comparison run on the same transport settings.
const rawOptions = {
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.max_send_message_length": 8 * 1024 * 1024,
  "grpc-node.flow_control_window": 16 * 1024 * 1024,
};

async function child(kind: string, port: number, count: number): Promise<void> {
  process.once("SIGTERM", () => process.exit(0)); // exits normally, so --cpu-prof writes its profile
  if (kind === "weft") {
    const nodes = Array.from(
      { length: count },
      (_, i) =>
        new NodeClient({
          nodeId: `n${i}`,
          researchers: [{ host: "127.0.0.1", port }],
          // Tag "w1": a one-way payload, answered with its size only.
          onTask: (t) => (t.tag === "w1" ? (t.payload as Uint8Array).byteLength : t.payload),
          logger: new DummyLogger(),
        }),
    );
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitConnected({ timeoutMs: 20_000 })));
  } else if (kind === "raw-sink") {
    // One-way: counts the bytes and answers "k" for every `count` bytes received.
    const Client = grpc.makeGenericClientConstructor(rawService, "Raw");
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), rawOptions) as any;
    const call = c.Echo();
    let got = 0;
    call.on("data", (b: Buffer) => {
      got += b.length;
      while (got >= count) {
        got -= count;
        call.write(Buffer.from("k"));
      }
    });
    call.on("error", () => {});
    call.write(Buffer.from("hi"));
  } else {
    const Client = grpc.makeGenericClientConstructor(rawService, "Raw");
    for (let i = 0; i < count; i++) {
      const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), rawOptions) as any;
      const call = c.Echo();
      call.on("data", (b: Buffer) => call.write(b));
      call.on("error", () => {});
      call.write(Buffer.from("hi"));
    }
  }
  process.stdout.write("ready\n");
}

function spawnChild(kind: string, port: number, count: number): Promise<() => void> {
  // FEDERATED_BENCH_CHILD_ARGS (e.g. "--cpu-prof") is passed to the child's node.
  const extra = process.env.FEDERATED_BENCH_CHILD_ARGS?.split(" ").filter(Boolean) ?? [];
  const args = [...extra, "--import", "tsx", SELF, "child", kind, String(port), String(count)];
  const p = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    // SIGTERM lets a profiled child write its profile; SIGKILL follows if it lingers.
    const stop = (): void => {
      p.kill(extra.length > 0 ? "SIGTERM" : "SIGKILL");
      setTimeout(() => p.kill("SIGKILL"), 2000).unref();
    };
    p.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve(stop));
    p.once("exit", (c) => reject(new Error(`child exited ${c}`)));
  });
}

async function weftRoundtrip(
  nodes: number,
  total: number,
  window: number,
  payload: unknown,
): Promise<number> {
  const server = new ResearcherServer({ logger: new DummyLogger() });
  const { port } = await server.start();
  const kill = await spawnChild("weft", port, nodes);
  while (server.getAllNodes().length < nodes) await new Promise((r) => setTimeout(r, 10));
  // Warm-up (a tenth of the tasks, not timed) so both sides run compiled code, as the raw echo does.
  await run(Math.floor(total / 10));
  const t0 = performance.now();
  await run(total);
  const rate = total / ((performance.now() - t0) / 1000);
  kill();
  await server.stop({ graceMs: 100 });
  return rate;

  async function run(count: number): Promise<void> {
    await Promise.all(
      Array.from({ length: nodes }, async (_, i) => {
        const per = Math.floor(count / nodes);
        let sent = 0;
        const lane = async (): Promise<void> => {
          while (sent < per) {
            sent++;
            await server.request(
              new Message({ tag: "t", source: "r", destination: `n${i}`, payload }),
              `n${i}`,
            );
          }
        };
        await Promise.all(Array.from({ length: window }, lane));
      }),
    );
  }
}

async function rawRoundtrip(nodes: number, total: number, window: number, bytes: Buffer): Promise<number> {
  // Warm-up run (a tenth of the tasks) on its own server and child, then the timed run.
  await rawRoundtripOnce(nodes, Math.floor(total / 10), window, bytes);
  return rawRoundtripOnce(nodes, total, window, bytes);
}

async function rawRoundtripOnce(
  nodes: number,
  total: number,
  window: number,
  bytes: Buffer,
): Promise<number> {
  const per = Math.floor(total / nodes);
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const calls: grpc.ServerDuplexStream<Buffer, Buffer>[] = [];
  const server = new grpc.Server(rawOptions);
  server.addService(rawService, {
    Echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      let sent = 0;
      let started = false;
      calls.push(call);
      call.on("data", () => {
        if (!started) {
          started = true;
          return;
        }
        done++;
        if (sent < per) {
          sent++;
          call.write(bytes);
        }
        if (done === per * nodes) finish();
      });
      (call as any).go = () => {
        for (; sent < Math.min(window, per); sent++) call.write(bytes);
      };
      call.on("error", () => {});
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const kill = await spawnChild("raw", port, nodes);
  while (calls.length < nodes) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  for (const c of calls) (c as any).go();
  await finished;
  const rate = total / ((performance.now() - t0) / 1000);
  kill();
  server.forceShutdown();
  return rate;
}

/** A `bytes` task and its echo (or, `oneWay`, a small reply), MB/s of payload moved. */
async function weftPayload(bytes: number, reps: number, oneWay = false): Promise<number> {
  const server = new ResearcherServer({ logger: new DummyLogger() });
  const { port } = await server.start();
  const kill = await spawnChild("weft", port, 1);
  while (server.getAllNodes().length < 1) await new Promise((r) => setTimeout(r, 10));
  const data = new Uint8Array(bytes).fill(3);
  await server.request(
    new Message({ tag: "w", source: "r", destination: "n0", payload: data.subarray(0, 1 << 20) }),
    "n0",
  );
  const t0 = performance.now();
  const tag = oneWay ? "w1" : "w";
  for (let i = 0; i < reps; i++)
    await server.request(new Message({ tag, source: "r", destination: "n0", payload: data }), "n0");
  const mbps = ((oneWay ? 1 : 2) * bytes * reps) / 1e6 / ((performance.now() - t0) / 1000);
  kill();
  await server.stop({ graceMs: 100 });
  return mbps;
}

/** Raw: `bytes` in 4 MiB chunks echoed chunk by chunk (or, `oneWay`, acknowledged once all arrived). */
async function rawPayload(bytes: number, reps: number, oneWay = false): Promise<number> {
  const data = Buffer.alloc(bytes, 3);
  let call: grpc.ServerDuplexStream<Buffer, Buffer> | undefined;
  const server = new grpc.Server(rawOptions);
  server.addService(rawService, {
    Echo: (c: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call = c;
      c.on("error", () => {});
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const kill = await spawnChild(oneWay ? "raw-sink" : "raw", port, oneWay ? bytes : 1);
  while (call === undefined) await new Promise((r) => setTimeout(r, 10));
  const c = call;
  let received = 0;
  let target = 0;
  let wake: () => void = () => {};
  c.on("data", (b: Buffer) => {
    received += oneWay ? bytes : b.length; // one-way: each "k" acknowledges `bytes`
    if (received >= target) wake();
  });
  await new Promise((r) => setTimeout(r, 50));
  received = 0;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    target += bytes;
    const got = new Promise<void>((r) => (wake = r));
    for (let off = 0; off < bytes; off += CHUNK) {
      if (!c.write(data.subarray(off, Math.min(bytes, off + CHUNK))))
        await new Promise((r) => c.once("drain", r));
    }
    await got;
  }
  const mbps = ((oneWay ? 1 : 2) * bytes * reps) / 1e6 / ((performance.now() - t0) / 1000);
  kill();
  server.forceShutdown();
  return mbps;
}

function line(name: string, unit: string, value: number, baseline: number): void {
  console.log(
    JSON.stringify({
      bench: `federated.${name}`,
      unit,
      value: Math.round(value),
      baseline: Math.round(baseline),
      ratio: Number((value / baseline).toFixed(3)),
    }),
  );
}

/** Rounds of each measurement; weft and raw alternate, and each reports its best round. */
const ROUNDS = Number(process.env.FEDERATED_BENCH_ROUNDS ?? 3);

/**
 * Runs weft and the raw baseline alternately ROUNDS times and prints the best of each: on a shared
 * machine other processes slow single runs down at random, and alternating keeps both sides exposed alike.
 */
async function compare(
  name: string,
  unit: string,
  weft: () => Promise<number>,
  raw: () => Promise<number>,
): Promise<void> {
  let best = 0;
  let bestRaw = 0;
  for (let i = 0; i < ROUNDS; i++) {
    best = Math.max(best, await weft());
    bestRaw = Math.max(bestRaw, await raw());
  }
  line(name, unit, best, bestRaw);
}

async function main(): Promise<void> {
  // FEDERATED_BENCH=task_roundtrip_1,payload_64mib runs a subset.
  const only = process.env.FEDERATED_BENCH?.split(",");
  const want = (name: string): boolean => only === undefined || only.includes(name);
  const payload = new Uint8Array(64).fill(1);
  const bytes = Buffer.from(new Uint8Array(200).fill(1)); // about the encoded size of the weft task
  if (want("task_roundtrip_1"))
    await compare(
      "task_roundtrip_1",
      "tasks/s",
      () => weftRoundtrip(1, 20_000, 64, payload),
      () => rawRoundtrip(1, 20_000, 64, bytes),
    );
  if (want("task_roundtrip_20"))
    await compare(
      "task_roundtrip_20",
      "tasks/s",
      () => weftRoundtrip(20, 20_000, 16, payload),
      () => rawRoundtrip(20, 20_000, 16, bytes),
    );
  if (want("payload_64mib"))
    await compare(
      "payload_64mib",
      "MB/s",
      () => weftPayload(64 * 1024 * 1024, 4),
      () => rawPayload(64 * 1024 * 1024, 4),
    );
  // The task's half alone: a task must arrive whole before it runs, so a task + reply takes two
  // transfers end to end, while the raw echo above returns each chunk as it comes. This line compares
  // one transfer with one transfer.
  if (want("payload_64mib_one_way"))
    await compare(
      "payload_64mib_one_way",
      "MB/s",
      () => weftPayload(64 * 1024 * 1024, 4, true),
      () => rawPayload(64 * 1024 * 1024, 4, true),
    );
}

if (process.argv[2] === "child")
  await child(process.argv[3] ?? "weft", Number(process.argv[4]), Number(process.argv[5]));
else {
  await main();
  process.exit(0);
}
