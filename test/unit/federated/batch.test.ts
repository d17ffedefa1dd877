import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ResearcherServer, researcherClientConstructor } from "../../../src/federated/index.ts";
import type { ResearcherFrame } from "../../../src/federated/protocol.ts";
import { Message } from "../../../src/core/message.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A raw Session announcing `version`; returns the task frames it receives. */
async function rawNode(
  server: ResearcherServer,
  nodeId: string,
  version: number,
): Promise<ResearcherFrame[]> {
  const Client = researcherClientConstructor();
  const raw = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, any>;
  const call = raw.Session();
  cleanups.push(() => {
    call.cancel();
    raw.close();
  });
  const frames: ResearcherFrame[] = [];
  call.on("error", () => {});
  call.on("data", (f: ResearcherFrame) => {
    if (f.kind === "chunk" || f.kind === "batch") frames.push(f);
  });
  call.write({ hello: { nodeId, protocolVersion: version } });
  await until(() => server.getNode(nodeId) !== undefined);
  return frames;
}

void test("tasks queued at once go as one batch to a version 2 node, one by one to a version 1 node", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  await server.start();
  cleanups.push(() => server.stop());
  const v2 = await rawNode(server, "v2", 2);
  const v1 = await rawNode(server, "v1", 1);
  for (const node of ["v2", "v1"])
    for (let i = 0; i < 10; i++)
      server.send(new Message({ tag: "t", source: "r", destination: node, payload: i }), node);
  const count = (frames: ResearcherFrame[]): number =>
    frames.reduce((n, f) => n + (f.kind === "batch" ? (f.batch?.chunks.length ?? 0) : 1), 0);
  await until(() => count(v2) === 10 && count(v1) === 10);
  assert.ok(
    v2.some((f) => f.kind === "batch"),
    "version 2 node got a batch",
  );
  assert.ok(v2.length < 10, "fewer frames than tasks");
  assert.ok(
    v1.every((f) => f.kind === "chunk"),
    "version 1 node got single chunks only",
  );
});
