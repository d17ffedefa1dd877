/**
 * CURVE security for TCP sockets: key pairs, socket options, and the ZAP handler that decides which client
 * public keys may connect.
 *
 * Binding sockets are CURVE servers; connecting sockets are CURVE clients that must know the server's
 * public key (weft publishes it with the member's addresses in discovery).
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as zmq from "zeromq";
import { ConfigError } from "../core/errors.ts";
import { readLoop } from "./socket-reader.ts";

/**
 * A CURVE key pair as Z85 strings (40 characters each).
 * @example
 * ```ts
 * const keys: CurveKeyPair = readCurveKeyFile("group.key");
 * keys.publicKey.length; // 40
 * ```
 */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/**
 * CURVE options of a component.
 * @example
 * ```ts
 * const curve: CurveOptions = { ...readCurveKeyFile("group.key"), allowedPublicKeys: [partnerPublicKey] };
 * const driver = await ZmqDriver.create("worker.0", "worker", { curve });
 * ```
 */
export interface CurveOptions extends CurveKeyPair {
  /**
   * Client public keys allowed to connect to this component's sockets. Default: only the component's own
   * public key (a group sharing one key pair). Use `"*"` in the list to accept any CURVE client (still
   * encrypted, not authenticated).
   */
  allowedPublicKeys?: readonly string[];
}

const Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/**
 * Z85-encodes bytes whose length is a multiple of 4 (ZeroMQ RFC 32).
 * @example
 * ```ts
 * z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f])); // "Hello"
 * ```
 */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new ConfigError("z85 input length must be a multiple of 4");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85_CHARS[value % 85]!);
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/**
 * A new CURVE key pair.
 * @example
 * ```ts
 * const { publicKey, secretKey } = generateCurveKeyPair();
 * ```
 */
export function generateCurveKeyPair(): CurveKeyPair {
  return zmq.curveKeyPair();
}

/**
 * Writes a key pair to `path` (JSON, mode 0600) so a group can share it.
 * @example
 * ```ts
 * writeCurveKeyFile("group.key", generateCurveKeyPair());
 * ```
 */
export function writeCurveKeyFile(path: string, keys: CurveKeyPair): void {
  writeFileSync(
    path,
    JSON.stringify({ publicKey: keys.publicKey, secretKey: keys.secretKey }, null, 2) + "\n",
    {
      mode: 0o600,
    },
  );
}

/**
 * Reads a key pair written by {@link writeCurveKeyFile} (or `weft keys generate`).
 * @example
 * ```ts
 * const curve = readCurveKeyFile("group.key");
 * ```
 */
export function readCurveKeyFile(path: string): CurveKeyPair {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read CURVE key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const keys = parsed as Partial<CurveKeyPair>;
  validateKey(keys.publicKey, `${path}: publicKey`);
  validateKey(keys.secretKey, `${path}: secretKey`);
  return { publicKey: keys.publicKey!, secretKey: keys.secretKey! };
}

function validateKey(key: unknown, what: string): void {
  if (typeof key !== "string" || key.length !== 40) {
    throw new ConfigError(
      `${what} must be a 40-character Z85 CURVE key (generate one with "weft keys generate")`,
    );
  }
}

/**
 * Checks CURVE options and fills in the defaults.
 * @example
 * ```ts
 * const keys = generateCurveKeyPair();
 * normalizeCurve(keys).allowedPublicKeys; // [keys.publicKey]
 * ```
 */
export function normalizeCurve(curve: CurveOptions): Required<CurveOptions> {
  validateKey(curve.publicKey, "curve.publicKey");
  validateKey(curve.secretKey, "curve.secretKey");
  for (const k of curve.allowedPublicKeys ?? []) if (k !== "*") validateKey(k, "curve.allowedPublicKeys[]");
  return { ...curve, allowedPublicKeys: curve.allowedPublicKeys ?? [curve.publicKey] };
}

/**
 * Makes a binding socket a CURVE server checked by the ZAP handler under `domain`.
 * @example
 * ```ts
 * const server = generateCurveKeyPair();
 * const release = await registerZapDomain("weft.job", [clientPublicKey]);
 * const pull = new zmq.Pull();
 * applyCurveServer(pull, server, "weft.job");
 * await pull.bind("tcp://127.0.0.1:5555");
 * ```
 */
export function applyCurveServer(socket: zmq.Socket, curve: CurveOptions, domain: string): void {
  socket.curveServer = true;
  socket.curveSecretKey = curve.secretKey;
  socket.curvePublicKey = curve.publicKey;
  socket.zapDomain = domain;
}

/**
 * Makes a connecting socket a CURVE client of the server whose public key is `serverPublicKey`.
 * @example
 * ```ts
 * const push = new zmq.Push();
 * applyCurveClient(push, generateCurveKeyPair(), serverPublicKey);
 * push.connect("tcp://127.0.0.1:5555");
 * ```
 */
export function applyCurveClient(socket: zmq.Socket, curve: CurveKeyPair, serverPublicKey: string): void {
  socket.curvePublicKey = curve.publicKey;
  socket.curveSecretKey = curve.secretKey;
  socket.curveServerKey = serverPublicKey;
}

// One ZAP handler per process (ZeroMQ allows one at inproc://zeromq.zap.01), shared by every domain.
// Keys are counted per domain so that releasing one registration never removes a key another still needs.
const domains = new Map<string, Map<string, number>>();
let zapSocket: zmq.Router | undefined;
let zapStarting: Promise<void> | undefined;
let rejectedCount = 0;
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
// Closing a socket releases its inproc endpoint on ZeroMQ's I/O thread, a moment after close() returns,
// so a handler started right after the previous one stopped may briefly find the endpoint taken.
const ZAP_BIND_ATTEMPTS = 40;
const ZAP_BIND_RETRY_MS = 25;

/**
 * Number of connection attempts the ZAP handler refused in this process.
 * @example
 * ```ts
 * const before = zapRejections();
 * // … a client whose public key is not allowed tries to connect
 * zapRejections() > before; // true once the handler refused it
 * ```
 */
export function zapRejections(): number {
  return rejectedCount;
}

/**
 * Allows `allowedPublicKeys` to connect to sockets whose `zapDomain` is `domain`, starting the process's
 * ZAP handler if needed. Returns a function that removes the domain (the handler stops with the last one).
 * @example
 * ```ts
 * const release = await registerZapDomain("weft.mygroup", [peerPublicKey]);
 * // … later
 * release();
 * ```
 */
export async function registerZapDomain(
  domain: string,
  allowedPublicKeys: readonly string[],
): Promise<() => void> {
  const keys = domains.get(domain) ?? new Map<string, number>();
  for (const k of allowedPublicKeys) keys.set(k, (keys.get(k) ?? 0) + 1);
  domains.set(domain, keys);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    for (const k of allowedPublicKeys) {
      const n = (keys.get(k) ?? 1) - 1;
      if (n > 0) keys.set(k, n);
      else keys.delete(k);
    }
    if (keys.size === 0 && domains.get(domain) === keys) domains.delete(domain);
    if (domains.size === 0 && zapSocket !== undefined) {
      zapSocket.close();
      zapSocket = undefined;
      zapStarting = undefined;
    }
  };
  if (zapSocket === undefined) {
    zapStarting ??= startZapHandler();
    try {
      await zapStarting;
    } catch (error) {
      zapStarting = undefined;
      release();
      throw error;
    }
  }
  return release;
}

async function startZapHandler(): Promise<void> {
  const socket = new zmq.Router({ linger: 0 });
  for (let attempt = 1; ; attempt++) {
    try {
      await socket.bind(ZAP_ENDPOINT);
      break;
    } catch (error) {
      const inUse = (error as { code?: unknown }).code === "EADDRINUSE";
      if (!inUse || attempt >= ZAP_BIND_ATTEMPTS) {
        socket.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, ZAP_BIND_RETRY_MS));
    }
  }
  if (domains.size === 0) {
    // Every registration was released while the handler was starting; the next one starts afresh.
    socket.close();
    zapStarting = undefined;
    return;
  }
  zapSocket = socket;
  void readLoop(socket, (frames) => answerZap(socket, frames));
}

async function answerZap(socket: zmq.Router, frames: Buffer[]): Promise<void> {
  // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials…]
  const [routingId, empty, version, requestId, domainFrame, , , mechanism, credential] = frames;
  if (routingId === undefined || requestId === undefined) return;
  const domain = domainFrame?.toString() ?? "";
  const allowed = domains.get(domain);
  let ok = false;
  if (mechanism?.toString() === "CURVE" && credential !== undefined && credential.length === 32 && allowed) {
    ok = allowed.has("*") || allowed.has(z85Encode(credential));
  }
  if (!ok) rejectedCount++;
  await socket.send([
    routingId,
    empty ?? Buffer.alloc(0),
    version ?? "1.0",
    requestId,
    ok ? "200" : "400",
    ok ? "OK" : "public key not allowed",
    ok ? "weft" : "",
    Buffer.alloc(0),
  ]);
}
