import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { ResearcherServer, NodeClient } from "../../../src/federated/index.ts";
import type { ClientTlsOptions } from "../../../src/federated/index.ts";
import { Message } from "../../../src/core/message.ts";
import {
  AuthenticationError,
  ConfigError,
  ResearcherUnavailableError,
  WeftError,
} from "../../../src/core/errors.ts";
import { makeTestPki, type TestPki } from "../../helpers/federated-certs.ts";
import { RecordingLogger } from "../../helpers/federated-util.ts";

let pki: TestPki;
const cleanups: (() => Promise<void> | void)[] = [];
before(() => {
  pki = makeTestPki();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  pki.dispose();
});

function node(port: number, nodeId: string, tls: ClientTlsOptions): NodeClient {
  const n = new NodeClient({
    nodeId,
    researchers: [{ host: "127.0.0.1", port, tls }],
    onTask: (t) => t.payload,
    reconnectMaxMs: 200,
    logger: new RecordingLogger(),
  });
  cleanups.push(() => n.stop());
  n.start();
  return n;
}
const refused = (e: unknown): boolean =>
  e instanceof AuthenticationError || e instanceof ResearcherUnavailableError;

void test("TLS: server certificate verified against the CA and an optional pinned fingerprint", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await server.start({ tls: { cert: pki.server.cert, key: pki.server.key } });
  cleanups.push(() => server.stop());
  const good = node(port, "ok", { ca: pki.ca.cert });
  await good.waitConnected();
  const reply = await server.request(
    new Message({ tag: "t", source: "r", destination: "ok", payload: "secure" }),
    "ok",
    { timeoutMs: 5000 },
  );
  assert.equal(reply.payload, "secure");
  const fp = new X509Certificate(pki.server.cert).fingerprint256;
  await node(port, "pinned", { ca: pki.ca.cert, fingerprint256: fp }).waitConnected();
  await assert.rejects(
    node(port, "wrongca", { ca: pki.otherCa.cert }).waitConnected({ timeoutMs: 1500 }),
    refused,
  );
  await assert.rejects(
    node(port, "wrongpin", { ca: pki.ca.cert, fingerprint256: "AA:BB" }).waitConnected({ timeoutMs: 1500 }),
    refused,
  );
  assert.deepEqual(
    server
      .getAllNodes()
      .map((n) => n.id)
      .sort(),
    ["ok", "pinned"],
  );
  assert.throws(
    () =>
      new NodeClient({
        nodeId: "x",
        researchers: [{ host: "h", port: 1, tls: { ca: "" } }],
        onTask: () => 1,
      }),
    ConfigError,
  );
});

void test("mTLS: node identity must match its certificate; unknown certificates are refused", async () => {
  const server = new ResearcherServer({ logger: new RecordingLogger() });
  const { port } = await server.start({
    tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true },
  });
  cleanups.push(() => server.stop());
  const n1 = pki.node("n1");
  await node(port, "n1", { ca: pki.ca.cert, cert: n1.cert, key: n1.key }).waitConnected();
  const n2 = pki.node("n2");
  const errors: WeftError[] = [];
  const impostor = node(port, "n3", { ca: pki.ca.cert, cert: n2.cert, key: n2.key });
  impostor.onError((e) => errors.push(e));
  await assert.rejects(
    impostor.waitConnected({ timeoutMs: 1500 }),
    (e: unknown) => e instanceof AuthenticationError && /does not match/.test(e.message),
  );
  assert.ok(errors.some((e) => e instanceof AuthenticationError));
  await assert.rejects(
    node(port, "n1", { ca: pki.ca.cert, cert: pki.stranger.cert, key: pki.stranger.key }).waitConnected({
      timeoutMs: 1500,
    }),
    refused,
  );
  await assert.rejects(node(port, "n4", { ca: pki.ca.cert }).waitConnected({ timeoutMs: 1500 }), refused);
  assert.deepEqual(
    server.getAllNodes().map((n) => n.id),
    ["n1"],
  );
});
