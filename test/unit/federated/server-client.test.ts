import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  ResearcherServer,
  NodeClient,
  NodeActiveStatus,
  researcherClientConstructor,
  prepareChunks,
  chunkData,
} from "../../../src/federated/index.ts";
import type { NodeEvent } from "../../../src/federated/index.ts";
import { Message } from "../../../src/core/message.ts";
import {
  ConfigError,
  UnknownPeerError,
  ResearcherUnavailableError,
  NodeDisconnectedError,
} from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(
  options: ConstructorParameters<typeof ResearcherServer>[0] = {},
  onTask: (t: Message) => unknown = (t) => t.payload,
) {
  const log = new RecordingLogger();
  const server = new ResearcherServer({ logger: log, ...options });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const mk = (id: string, handler = onTask) => {
    const node = new NodeClient({
      nodeId: id,
      researchers: [{ host: "127.0.0.1", port }],
      onTask: handler,
      logger: new RecordingLogger(),
    });
    cleanups.push(() => node.stop());
    node.start();
    return node;
  };
  return { server, port, log, mk };
}

const msg = (payload: unknown, tag = "t") =>
  new Message({ tag, source: "researcher", destination: "n", payload });

void test("task round trip; reply calls back once; duplicate reply warned once; unknown node is a typed error", async () => {
  const { server, log, mk } = await setup();
  const node = mk("n1", (t) => [t.reply({ payload: "first" }), t.reply({ payload: "second" })][0]);
  await node.waitConnected();
  assert.equal(server.getNode("n1")?.status, NodeActiveStatus.ACTIVE);
  const reply = await server.request(msg(1), "n1", { timeoutMs: 5000 });
  assert.equal(reply.payload, "first");
  assert.throws(
    () => server.send(msg(1), "ghost"),
    (e: unknown) => e instanceof UnknownPeerError && /ghost/.test(e.message),
  );
  // a second reply to the same request, sent by hand through ReplyTask
  let calls = 0;
  const id = server.send(msg(2), "n1", () => calls++);
  await until(() => server.getRequest(id)?.state === "replied");
  const Client = researcherClientConstructor();
  const raw = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const sendReply = (requestId: string) =>
    new Promise<void>((resolve, reject) => {
      const call = (raw as any).ReplyTask((err: Error | null) => (err ? reject(err) : resolve()));
      const m = msg("dup");
      const p = prepareChunks(m);
      let i = 0;
      for (const data of chunkData(p))
        call.write({
          messageId: m.messageId,
          index: i++,
          count: p.count,
          data,
          kind: "REPLY",
          requestId,
          nodeId: "n1",
        });
      call.end();
    });
  await sendReply(id);
  await sendReply(id);
  await sendReply("");
  await sendReply("no-such-request");
  raw.close();
  assert.equal(calls, 1);
  assert.equal(log.warnings(/duplicate reply/), 1);
  assert.equal(log.warnings(/no request id/), 1);
  assert.equal(log.warnings(/unknown request/), 1);
});

void test("flushed request ignores a late reply; stopped request records it", async () => {
  const gate: (() => void)[] = [];
  const { server, log, mk } = await setup({}, (t) => new Promise((r) => gate.push(() => r(t.payload))));
  const node = mk("n1");
  await node.waitConnected();
  let called = 0;
  const a = server.send(msg("a"), "n1", () => called++);
  const b = server.send(msg("b"), "n1", () => called++);
  await until(() => gate.length === 2);
  server.flush(a);
  server.flush(b, { stopped: true });
  for (const g of gate) g();
  await until(() => server.getRequest(b)?.reply !== undefined);
  await until(() => log.warnings(/after it was flushed/) === 1);
  assert.equal(server.getRequest(b)?.state, "stopped");
  assert.equal(server.getRequest(b)?.reply?.payload, "b");
  assert.equal(called, 0);
});

void test("large task goes in several chunks and the reply (via ReplyTask) reassembles byte-exact", async () => {
  const { server, mk } = await setup({ chunkBytes: 64 * 1024 });
  const node = new NodeClient({
    nodeId: "big",
    researchers: [{ host: "127.0.0.1", port: server.port }],
    onTask: (t) => t.payload,
    chunkBytes: 64 * 1024,
  });
  cleanups.push(() => node.stop());
  node.start();
  void mk;
  await node.waitConnected();
  const w = new Float32Array(300_000).map((_, i) => Math.sin(i));
  const reply = await server.request(msg({ w }), "big", { timeoutMs: 10_000 });
  assert.deepEqual(Buffer.from((reply.payload as { w: Float32Array }).w.buffer), Buffer.from(w.buffer));
});

void test("Feedback and node messages reach onMessage", async () => {
  const { server, mk } = await setup();
  const events: NodeEvent[] = [];
  server.onMessage((e) => events.push(e));
  const node = mk("n1");
  await node.waitConnected();
  node.forwardingLogger(new RecordingLogger()).warn("disk almost full");
  node.feedbackScalar("loss", 0.25, 3);
  await node.send(new Message({ tag: "hello", source: "n1", destination: "researcher", payload: 42 }));
  await until(() => events.length === 3);
  assert.deepEqual(events.map((e) => e.kind).sort(), ["log", "message", "scalar"]);
  const log = events.find((e) => e.kind === "log");
  assert.ok(log?.kind === "log" && log.text === "disk almost full" && log.level === "WARN");
});

void test("an overlay send without a connection rejects with ResearcherUnavailableError instead of vanishing", async () => {
  const { server, mk } = await setup();
  const a = mk("a");
  const b = mk("b");
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  const got: Message[] = [];
  b.onOverlay((m) => got.push(m));
  await a.sendOverlay("b", new Message({ tag: "one", source: "a", destination: "b", payload: 1 }));
  await until(() => got.length === 1);
  await server.stop({ graceMs: 100 });
  await until(() => !a.isConnected(), 5000, "a to notice the researcher is gone");
  await assert.rejects(
    a.sendOverlay("b", new Message({ tag: "two", source: "a", destination: "b", payload: 2 })),
    (e: unknown) => e instanceof ResearcherUnavailableError && /not connected to researcher/.test(e.message),
  );
  assert.equal(got.length, 1);
});

void test("overlay is relayed to the destination and not taken as a reply", async () => {
  const { server, log, mk } = await setup();
  const a = mk("a");
  const b = mk("b");
  await a.waitConnected();
  await b.waitConnected();
  const got: [Message, string][] = [];
  b.onOverlay((m, src) => got.push([m, src]));
  await a.sendOverlay(
    "b",
    new Message({ tag: "gossip", source: "a", destination: "b", payload: new Uint8Array([1, 2, 3]) }),
  );
  await until(() => got.length === 1);
  assert.equal(got[0]?.[1], "a");
  assert.deepEqual(got[0]?.[0].payload, new Uint8Array([1, 2, 3]));
  assert.equal(log.warnings(/request/), 0);
  void server;
});

void test("a task interrupted mid-stream is re-queued once and run once", async () => {
  const { server, mk } = await setup({ chunkBytes: 4096 });
  // A raw node that hangs up after the first chunk of a task.
  const Client = researcherClientConstructor();
  const raw = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const call = (raw as any).Session();
  call.on("error", () => {});
  call.write({ hello: { nodeId: "n1", protocolVersion: 1 } });
  await until(() => server.getNode("n1") !== undefined);
  const payload = new Uint8Array(50_000).fill(7);
  let replies = 0;
  const id = server.send(msg(payload), "n1", () => replies++);
  await new Promise<void>((resolve) => call.on("data", (f: any) => f.kind === "chunk" && resolve()));
  call.cancel();
  raw.close();
  await until(() => server.getNode("n1")?.status === NodeActiveStatus.WAITING);
  assert.equal(server.getNode("n1")?.queued, 1, "task re-queued");
  let runs = 0;
  const node = mk("n1", (t) => {
    runs++;
    return (t.payload as Uint8Array).length;
  });
  await node.waitConnected();
  await until(() => server.getRequest(id)?.state === "replied");
  assert.equal(runs, 1);
  assert.equal(replies, 1);
  assert.equal(server.getRequest(id)?.reply?.payload, 50_000);
});

void test("node de-duplicates a task delivered twice by message id", async () => {
  // A researcher stand-in that sends the same task twice.
  const { researcherService } = await import("../../../src/federated/protocol.ts");
  const srv = new grpc.Server();
  const m = msg("once");
  srv.addService(researcherService(), {
    Session: (call: any) => {
      call.on("data", (f: any) => {
        if (f.kind !== "hello") return;
        call.write({ welcome: { researcherId: "fake", protocolVersion: 1 } });
        const p = prepareChunks(m);
        for (let k = 0; k < 2; k++)
          call.write({
            chunk: { messageId: m.messageId, index: 0, count: 1, data: [...chunkData(p)][0], kind: "TASK" },
          });
      });
      call.on("error", () => {});
    },
    GetTaskUnary: () => {},
    ReplyTask: () => {},
    Feedback: () => {},
  });
  const port = await new Promise<number>((res, rej) =>
    srv.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  cleanups.push(() => srv.forceShutdown());
  let runs = 0;
  const node = new NodeClient({
    nodeId: "n1",
    researchers: [{ host: "127.0.0.1", port }],
    onTask: () => void runs++,
    logger: new RecordingLogger(),
  });
  cleanups.push(() => node.stop());
  node.start();
  await node.waitConnected();
  await until(() => runs >= 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs, 1);
});

void test("node killed → WAITING → DISCONNECTED, then send fails with NodeDisconnectedError", async () => {
  const { server, mk } = await setup({ nodeDisconnectionTimeoutMs: 100 });
  const statuses: string[] = [];
  server.onNodeStatus((id, s) => statuses.push(`${id}:${s}`));
  const node = mk("n1");
  await node.waitConnected();
  await node.stop();
  await until(() => server.getNode("n1")?.status === NodeActiveStatus.DISCONNECTED, 3000);
  assert.deepEqual(statuses, ["n1:WAITING", "n1:DISCONNECTED"]);
  assert.throws(
    () => server.send(msg(1), "n1"),
    (e: unknown) => e instanceof NodeDisconnectedError && /DISCONNECTED/.test(e.message),
  );
});

void test("port in use and researcher down are typed errors with actionable messages", async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as net.AddressInfo).port;
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  await assert.rejects(
    server.start({ port }),
    (e: unknown) => e instanceof ConfigError && /already in use/.test(e.message),
  );
  await server.stop();
  await new Promise<void>((r) => blocker.close(() => r())); // now nothing listens there: the researcher is down
  const node = new NodeClient({
    nodeId: "n1",
    researchers: [{ host: "127.0.0.1", port }],
    onTask: () => 1,
    reconnectMaxMs: 200,
    sendAttempts: 2,
    logger: new RecordingLogger(),
  });
  node.start();
  cleanups.push(() => node.stop());
  await assert.rejects(
    node.waitConnected({ timeoutMs: 500 }),
    (e: unknown) => e instanceof ResearcherUnavailableError && /not reachable/.test(e.message),
  );
  await assert.rejects(node.send(msg(1)), (e: unknown) => e instanceof ResearcherUnavailableError);
});

void test("flowControlWindowBytes outside 65 535 .. 2³¹ − 1 is a ConfigError; the smallest legal window still works", async () => {
  for (const bad of [1000, 1.5, 2 ** 31]) {
    assert.throws(
      () =>
        new NodeClient({
          nodeId: "w",
          researchers: [{ host: "127.0.0.1", port: 1 }],
          onTask: () => undefined,
          flowControlWindowBytes: bad,
        }),
      (e: unknown) => e instanceof ConfigError && /flowControlWindowBytes/.test((e as Error).message),
    );
  }
  const { server, port } = await setup();
  const node = new NodeClient({
    nodeId: "small-window",
    researchers: [{ host: "127.0.0.1", port }],
    onTask: (t) => (t.payload as Uint8Array).byteLength,
    flowControlWindowBytes: 65_535,
    logger: new RecordingLogger(),
  });
  cleanups.push(() => node.stop());
  node.start();
  await node.waitConnected();
  const big = new Uint8Array(3 * 1024 * 1024).fill(9);
  const reply = await server.request(msg(big), "small-window", { timeoutMs: 20_000 });
  assert.equal(reply.payload, big.byteLength);
});
