import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import {
  ResearcherServer,
  NodeActiveStatus,
  researcherClientConstructor,
  Reassembler,
} from "../../../src/federated/index.ts";
import type { ChunkFrame } from "../../../src/federated/protocol.ts";
import { Message } from "../../../src/core/message.ts";
import { ConfigError } from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

void test("GetTaskUnary long poll streams one task's chunks, then the node is WAITING", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger(), chunkBytes: 2048 });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const Client = researcherClientConstructor();
  const raw = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, any>;
  cleanups.push(() => raw.close());
  const poll = (): Promise<ChunkFrame[]> =>
    new Promise((resolve, reject) => {
      const chunks: ChunkFrame[] = [];
      const call = raw.GetTaskUnary({ nodeId: "poller", waitMs: 5000 });
      call.on("data", (c: ChunkFrame) => chunks.push(c));
      call.on("end", () => resolve(chunks));
      call.on("error", reject);
    });
  const pending = poll();
  await until(() => server.getNode("poller")?.status === NodeActiveStatus.ACTIVE);
  const data = new Uint8Array(10_000).fill(9);
  const id = server.send(
    new Message({ tag: "t", source: "r", destination: "poller", payload: data }),
    "poller",
  );
  const chunks = await pending;
  assert.ok(chunks.length > 1);
  assert.equal(chunks[0]?.messageId, id);
  const r = new Reassembler();
  let m: Message | undefined;
  for (const c of chunks) m = r.push(c.messageId, c.index, c.count, c.data);
  assert.deepEqual(m?.payload, data);
  await until(() => server.getNode("poller")?.status === NodeActiveStatus.WAITING);
  assert.equal(server.getNode("poller")?.inFlight, 0);
});

void test("bad TLS material is a ConfigError", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  await assert.rejects(server.start({ tls: { cert: "not a certificate", key: "not a key" } }), ConfigError);
  await server.stop();
});
