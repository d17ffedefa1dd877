import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { ResearcherServer, NodeClient, NodeActiveStatus } from "../../../src/federated/index.ts";
import { Message } from "../../../src/core/message.ts";
import { NodeDisconnectedError } from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const msg = (payload: unknown) => new Message({ tag: "t", source: "researcher", destination: "n", payload });

function spawnNode(
  port: number,
  nodeId: string,
): { child: ChildProcess; lines: string[]; exited: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/helpers/federated-node-process.ts", String(port), nodeId],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines: string[] = [];
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, lines, exited };
}

void test("20 nodes at once, 1000 tasks each answered exactly once", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const runs = new Map<string, number>();
  const nodes = Array.from({ length: 20 }, (_, i) => {
    const node = new NodeClient({
      nodeId: `n${i}`,
      researchers: [{ host: "127.0.0.1", port }],
      logger: new RecordingLogger(),
      onTask: (t) => {
        const k = t.payload as number;
        runs.set(`${k}`, (runs.get(`${k}`) ?? 0) + 1);
        return k * 2;
      },
    });
    cleanups.push(() => node.stop());
    node.start();
    return node;
  });
  await Promise.all(nodes.map((n) => n.waitConnected()));
  assert.equal(server.getAllNodes().filter((n) => n.status === NodeActiveStatus.ACTIVE).length, 20);
  const replies = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 1000 }, (_, k) =>
      server.request(msg(k), `n${k % 20}`, { timeoutMs: 30_000 }).then((r) => {
        replies.set(k, (replies.get(k) ?? 0) + 1);
        assert.equal(r.payload, k * 2);
      }),
    ),
  );
  assert.equal(replies.size, 1000);
  assert.ok([...replies.values()].every((c) => c === 1));
  assert.equal(runs.size, 1000);
  assert.ok([...runs.values()].every((c) => c === 1));
});

void test("researcher restarted on the same port: nodes reconnect and later tasks flow", async () => {
  const first = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await first.start();
  const nodes = ["a", "b"].map((id) => {
    const n = new NodeClient({
      nodeId: id,
      researchers: [{ host: "127.0.0.1", port }],
      onTask: (t) => t.payload,
      reconnectMaxMs: 300,
      logger: new RecordingLogger(),
    });
    cleanups.push(() => n.stop());
    n.start();
    return n;
  });
  await Promise.all(nodes.map((n) => n.waitConnected()));
  assert.equal((await first.request(msg("before"), "a", { timeoutMs: 5000 })).payload, "before");
  await first.stop({ graceMs: 0 });
  await until(() => nodes.every((n) => !n.isConnected()), 5000, "nodes to notice");
  const second = new ResearcherServer({ logger: new RecordingLogger() });
  await second.start({ port });
  cleanups.push(() => second.stop());
  await until(() => second.getAllNodes().length === 2, 10_000, "nodes to reconnect");
  assert.equal((await second.request(msg("after"), "b", { timeoutMs: 5000 })).payload, "after");
});

void test("node process killed: DISCONNECTED within the timeout, send fails with the typed error", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger(), nodeDisconnectionTimeoutMs: 300 });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const { child, lines, exited } = spawnNode(port, "victim");
  await until(() => lines.includes("connected"), 20_000, "child node to connect");
  assert.equal((await server.request(msg(7), "victim", { timeoutMs: 5000 })).payload, 7);
  const pending = server.request(msg("never"), "victim").catch((e: unknown) => e);
  child.kill("SIGKILL");
  await exited;
  const t0 = Date.now();
  await until(() => server.getNode("victim")?.status === NodeActiveStatus.DISCONNECTED, 3000, "DISCONNECTED");
  assert.ok(Date.now() - t0 < 2000);
  assert.throws(() => server.send(msg(1), "victim"), NodeDisconnectedError);
  // the request that was on its way (or queued) when the node died fails instead of hanging
  const err = await pending;
  assert.ok(err instanceof NodeDisconnectedError || (err as Error).name === "DriverSendError", String(err));
});

void test("100 MB Float32Array task and reply round-trip byte-exact with bounded memory", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const { lines } = spawnNode(port, "big");
  await until(() => lines.includes("connected"), 20_000, "child node to connect");
  const n = 25 * 1024 * 1024; // 100 MiB of float32
  const w = new Float32Array(n);
  for (let i = 0; i < n; i += 997) w[i] = i * 0.001;
  w[n - 1] = 42.5;
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const reply = await server.request(msg({ w }), "big", { timeoutMs: 60_000 });
    const back = (reply.payload as { w: Float32Array }).w;
    assert.equal(back.length, n);
    assert.ok(
      Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(w.buffer)),
      "bytes differ",
    );
  } finally {
    clearInterval(sampler);
  }
  const bytes = w.byteLength;
  assert.ok(peak - base < 4 * bytes, `researcher grew ${peak - base} bytes for a ${bytes}-byte payload`);
  const childPeak = Number(lines.find((l) => l.startsWith("peak "))?.slice(5));
  assert.ok(childPeak > 0 && childPeak < 4 * bytes + 150 * 1024 * 1024, `node peak rss ${childPeak}`);
});
