import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ResearcherServer, NodeClient } from "../../../src/federated/index.ts";
import type { OverlayFrame } from "../../../src/federated/protocol.ts";
import { Message } from "../../../src/core/message.ts";
import { AuthenticationError, type WeftError } from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

void test("encrypted overlay: the relay cannot read it, and a tampered payload is detected", async () => {
  let tamper = false;
  const seen: OverlayFrame[] = [];
  const server = new ResearcherServer({
    logger: new RecordingLogger(),
    overlayHook: (o) => {
      seen.push(o);
      if (!tamper) return o;
      const payload = Buffer.from(o.payload);
      payload[0] = (payload[0] ?? 0) ^ 0xff;
      return { ...o, payload };
    },
  });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  const mk = (id: string): NodeClient => {
    const n = new NodeClient({
      nodeId: id,
      researchers: [{ host: "127.0.0.1", port }],
      onTask: () => undefined,
      overlayEncryption: true,
      logger: new RecordingLogger(),
    });
    cleanups.push(() => n.stop());
    n.start();
    return n;
  };
  const a = mk("a");
  const b = mk("b");
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  await until(() => a.peerKeys.has("b") && b.peerKeys.has("a"), 5000, "public keys");
  const got: Message[] = [];
  const errors: WeftError[] = [];
  b.onOverlay((m) => got.push(m));
  b.onError((e) => errors.push(e));
  const secret = "the quick brown fox is a secret";
  a.sendOverlay("b", new Message({ tag: "g", source: "a", destination: "b", payload: secret }));
  await until(() => got.length + errors.length > 0);
  assert.equal(errors.length, 0, String(errors[0]));
  assert.equal(got[0]?.payload, secret);
  assert.equal(seen[0]?.encrypted, true);
  assert.ok(!Buffer.from(seen[0]?.payload ?? []).includes(Buffer.from(secret)), "relay saw plaintext");
  tamper = true;
  a.sendOverlay("b", new Message({ tag: "g", source: "a", destination: "b", payload: secret }));
  await until(() => errors.length === 1);
  assert.ok((errors[0] as unknown) instanceof AuthenticationError);
  assert.equal(got.length, 1);
});
