import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  ResearcherServer,
  NodeClient,
  OverlayKeys,
  OverlayPinSet,
  OverlayAssembler,
  cutOverlay,
  generateOverlayPrivateKey,
} from "../../../src/federated/index.ts";
import type { OverlayFrame } from "../../../src/federated/protocol.ts";
import { Message } from "../../../src/core/message.ts";
import { AuthenticationError, ConfigError, DecodeError, type WeftError } from "../../../src/core/errors.ts";
import { RecordingLogger, until } from "../../helpers/federated-util.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

void test("encrypted overlay: the relay cannot read it, and a tampered payload is detected", async () => {
  let tamper = false;
  const seen: OverlayFrame[] = [];
  const { port } = await overlayServer((o) => {
    seen.push(o);
    if (!tamper) return o;
    const payload = Buffer.from(o.payload);
    payload[0] = (payload[0] ?? 0) ^ 0xff;
    return { ...o, payload };
  });
  const a = overlayNode(port, "a");
  const b = overlayNode(port, "b");
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  await until(() => a.peerKeys.has("b") && b.peerKeys.has("a"), 5000, "public keys");
  const got: Message[] = [];
  const errors: WeftError[] = [];
  b.onOverlay((m) => got.push(m));
  b.onError((e) => errors.push(e));
  const secret = "the quick brown fox is a secret";
  await a.sendOverlay("b", new Message({ tag: "g", source: "a", destination: "b", payload: secret }));
  await until(() => got.length + errors.length > 0);
  assert.equal(errors.length, 0, String(errors[0]));
  assert.equal(got[0]?.payload, secret);
  assert.equal(seen[0]?.encrypted, true);
  assert.ok(!Buffer.from(seen[0]?.payload ?? []).includes(Buffer.from(secret)), "relay saw plaintext");
  tamper = true;
  await a.sendOverlay("b", new Message({ tag: "g", source: "a", destination: "b", payload: secret }));
  await until(() => errors.length === 1);
  assert.ok((errors[0] as unknown) instanceof AuthenticationError);
  assert.equal(got.length, 1);
});

type NodeExtra = Partial<ConstructorParameters<typeof NodeClient>[0]>;

async function overlayServer(
  hook?: (o: OverlayFrame) => OverlayFrame | undefined,
): Promise<{ port: number; server: ResearcherServer }> {
  const server = new ResearcherServer({
    logger: new RecordingLogger(),
    ...(hook ? { overlayHook: hook } : {}),
  });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  return { port, server };
}

function overlayNode(port: number, id: string, extra: NodeExtra = {}): NodeClient {
  const n = new NodeClient({
    nodeId: id,
    researchers: [{ host: "127.0.0.1", port }],
    onTask: () => undefined,
    overlayEncryption: true,
    logger: new RecordingLogger(),
    ...extra,
  });
  cleanups.push(() => n.stop());
  n.start();
  return n;
}

void test("pinned overlay keys: a matching key is used, a substituted one is refused with an AuthenticationError", async () => {
  const { port } = await overlayServer();
  const keyB = generateOverlayPrivateKey();
  const fingerprintB = new OverlayKeys(keyB).fingerprint;
  const a = overlayNode(port, "a", { pinnedPeerKeys: { b: fingerprintB } });
  const aErrors: WeftError[] = [];
  a.onError((e) => aErrors.push(e));
  const got: unknown[] = [];
  a.onOverlay((m) => got.push(m.payload));
  const b = overlayNode(port, "b", { overlayPrivateKey: keyB });
  assert.equal(b.overlayFingerprint, fingerprintB);
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  await until(() => a.peerKeys.has("b") && b.peerKeys.has("a"), 5000, "public keys");
  await b.sendOverlay(
    "a",
    new Message({ tag: "g", source: "b", destination: "a", payload: "from the real b" }),
  );
  await until(() => got.length === 1);
  assert.equal(got[0], "from the real b");
  assert.equal(aErrors.length, 0);

  // Another process takes the id "b" with a key of its own: the researcher publishes that key to a.
  await b.stop();
  const impostor = overlayNode(port, "b");
  await impostor.waitConnected();
  await until(() => aErrors.length > 0, 5000, "pin mismatch reported");
  const err = aErrors[0] as WeftError;
  assert.ok(err instanceof AuthenticationError);
  assert.match(err.message, /node "b"/);
  assert.match(err.message, new RegExp(`not the pinned ${fingerprintB}`));
  assert.match(err.message, /pinnedPeerKeys/);
  assert.equal(a.peerKeys.has("b"), false, "the substituted key is not kept");
  assert.throws(
    () => a.sendOverlay("b", new Message({ tag: "g", source: "a", destination: "b", payload: "x" })),
    (e: unknown) => e instanceof AuthenticationError && /pinned/.test((e as Error).message),
  );
  // Whatever the impostor sends under its key is refused too, never delivered.
  await until(() => impostor.peerKeys.has("a"), 5000, "impostor learns a's key");
  await impostor.sendOverlay(
    "a",
    new Message({ tag: "g", source: "b", destination: "a", payload: "forged" }),
  );
  await until(() => aErrors.length >= 2, 5000, "forged overlay refused");
  assert.ok((aErrors.at(-1) as unknown) instanceof AuthenticationError);
  assert.match((aErrors.at(-1) as WeftError).message, /failed its pin/);
  assert.deepEqual(got, ["from the real b"]);
  const reported = aErrors.filter((e) => /^researcher .*not the pinned/.test(e.message)).length;
  assert.equal(reported, 1, "a refused key is reported once, not at every key publication");
});

void test("requirePinnedPeers refuses unpinned keys; bad pins and pins without encryption are ConfigErrors", async () => {
  const { port } = await overlayServer();
  const a = overlayNode(port, "a", { requirePinnedPeers: true, pinnedPeerKeys: {} });
  const errors: WeftError[] = [];
  a.onError((e) => errors.push(e));
  const c = overlayNode(port, "c");
  await Promise.all([a.waitConnected(), c.waitConnected()]);
  await until(() => errors.length > 0, 5000, "unpinned key refused");
  assert.ok((errors[0] as unknown) instanceof AuthenticationError);
  assert.match((errors[0] as WeftError).message, /node "c".*no pin.*requirePinnedPeers/);
  assert.equal(a.peerKeys.has("c"), false);

  const base = { nodeId: "x", researchers: [{ host: "127.0.0.1", port }], onTask: () => undefined };
  assert.throws(
    () => new NodeClient({ ...base, overlayEncryption: true, pinnedPeerKeys: { b: "not-a-fingerprint" } }),
    (e: unknown) => e instanceof ConfigError && /SHA-256 fingerprint/.test((e as Error).message),
  );
  assert.throws(
    () => new NodeClient({ ...base, overlayEncryption: true, pinnedPeerKeys: { b: new Uint8Array(31) } }),
    (e: unknown) => e instanceof ConfigError && /32 bytes/.test((e as Error).message),
  );
  assert.throws(
    () => new NodeClient({ ...base, pinnedPeerKeys: { b: new OverlayKeys().fingerprint } }),
    (e: unknown) => e instanceof ConfigError && /overlayEncryption/.test((e as Error).message),
  );
  assert.throws(
    () => new NodeClient({ ...base, overlayEncryption: true, overlayPrivateKey: "not a key" }),
    (e: unknown) => e instanceof ConfigError && /generateOverlayPrivateKey/.test((e as Error).message),
  );
  // A raw 32-byte key pins the same as its fingerprint, colons and case aside.
  const keys = new OverlayKeys();
  const pins = new OverlayPinSet(
    { r: keys.publicKey, f: keys.fingerprint.replace(/:/g, "").toLowerCase() },
    false,
  );
  assert.equal(pins.check("r", keys.publicKey, "t").ok, true);
  assert.equal(pins.check("f", keys.publicKey, "t").ok, true);
  assert.equal(pins.check("f", new OverlayKeys().publicKey, "t").ok, false);
});

for (const encrypted of [false, true]) {
  void test(`an overlay message larger than a chunk travels in pieces (${encrypted ? "encrypted" : "plain"})`, async () => {
    const pieces: OverlayFrame[] = [];
    let tamperPiece = -1;
    const { port } = await overlayServer((o) => {
      pieces.push(o);
      if (o.index !== tamperPiece) return o;
      const payload = Buffer.from(o.payload);
      payload[10] = (payload[10] ?? 0) ^ 1;
      return { ...o, payload };
    });
    const chunkBytes = 64 * 1024;
    const a = overlayNode(port, "a", { overlayEncryption: encrypted, chunkBytes });
    const b = overlayNode(port, "b", { overlayEncryption: encrypted, chunkBytes });
    await Promise.all([a.waitConnected(), b.waitConnected()]);
    if (encrypted) await until(() => a.peerKeys.has("b") && b.peerKeys.has("a"), 5000, "public keys");
    const got: Message[] = [];
    const errors: WeftError[] = [];
    b.onOverlay((m) => got.push(m));
    b.onError((e) => errors.push(e));
    const weights = new Float32Array(100_000).map((_, i) => Math.sin(i));
    await a.sendOverlay("b", new Message({ tag: "w", source: "a", destination: "b", payload: { weights } }));
    await until(() => got.length + errors.length > 0, 10_000, "large overlay");
    assert.equal(errors.length, 0, String(errors[0]));
    const out = (got[0]?.payload as { weights: Float32Array }).weights;
    assert.ok(out instanceof Float32Array);
    assert.deepEqual(Buffer.from(out.buffer, out.byteOffset, out.byteLength), Buffer.from(weights.buffer));
    const count = pieces[0]?.count ?? 0;
    assert.ok(count >= 7, `400 KB in 64 KiB pieces, got count ${count}`);
    assert.equal(pieces.length, count);
    assert.ok(
      pieces.every((p) => p.payload.byteLength <= chunkBytes && p.messageId === pieces[0]?.messageId),
    );
    assert.deepEqual(
      pieces.map((p) => p.index),
      Array.from({ length: count }, (_, i) => i),
    );
    if (encrypted) {
      // A piece altered on the way fails authentication of the whole message.
      tamperPiece = 3;
      await a.sendOverlay(
        "b",
        new Message({ tag: "w", source: "a", destination: "b", payload: { weights } }),
      );
      await until(() => errors.length === 1, 10_000, "tampered piece detected");
      assert.ok((errors[0] as unknown) instanceof AuthenticationError);
      assert.equal(got.length, 1);
    }
  });
}

void test("an overlay message above gRPC's 4 MiB message limit arrives whole at the default chunk size", async () => {
  const { port } = await overlayServer();
  const a = overlayNode(port, "a");
  const b = overlayNode(port, "b");
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  await until(() => a.peerKeys.has("b") && b.peerKeys.has("a"), 5000, "public keys");
  const got: Message[] = [];
  const errors: WeftError[] = [];
  b.onOverlay((m) => got.push(m));
  b.onError((e) => errors.push(e));
  const bytes = new Uint8Array(6 * 1024 * 1024).map((_, i) => i % 251);
  await a.sendOverlay("b", new Message({ tag: "big", source: "a", destination: "b", payload: bytes }));
  await until(() => got.length + errors.length > 0, 20_000, "6 MiB overlay");
  assert.equal(errors.length, 0, String(errors[0]));
  assert.ok(Buffer.from(got[0]?.payload as Uint8Array).equals(Buffer.from(bytes)));
  assert.ok(a.isConnected() && b.isConnected(), "no stream was cut for an oversized message");
});

void test("overlay pieces out of order or beyond the limit are DecodeErrors; stale partial messages are bounded", () => {
  const asm = new OverlayAssembler({ maxMessageBytes: 10, maxConcurrent: 2 });
  assert.equal(asm.push("a", "m", 0, 2, new Uint8Array(4)), undefined);
  assert.throws(() => asm.push("a", "m", 0, 2, new Uint8Array(4)), DecodeError);
  assert.throws(() => asm.push("a", "n", 1, 2, new Uint8Array(4)), /before piece 0/);
  asm.push("a", "big", 0, 3, new Uint8Array(6));
  assert.throws(() => asm.push("a", "big", 1, 3, new Uint8Array(6)), /exceeds 10 bytes/);
  asm.push("a", "p", 0, 2, new Uint8Array(1));
  asm.push("a", "q", 0, 2, new Uint8Array(1));
  asm.push("a", "r", 0, 2, new Uint8Array(1));
  assert.equal(asm.pending, 2, "the oldest partial message was dropped");
  assert.deepEqual([...(asm.push("a", "r", 1, 2, Uint8Array.of(7)) ?? [])], [0, 7]);
  assert.deepEqual(
    cutOverlay(new Uint8Array(5), 2).map((p) => p.byteLength),
    [2, 2, 1],
  );
});
