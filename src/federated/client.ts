/**
 * NodeClient: a node dials out to one or more researchers, receives tasks on a long-lived stream, runs
 * them and sends the replies back. It reconnects with backoff and never throws because a researcher is
 * not up yet.
 * @module
 */
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  AuthenticationError,
  ClosedError,
  ConfigError,
  ResearcherUnavailableError,
  type WeftError,
} from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { Message } from "../core/message.ts";
import { DEFAULT_CHUNK_BYTES, prepareChunks, Reassembler, singleChunkParts } from "./chunking.ts";
import {
  PROTOCOL_VERSION,
  researcherClientConstructor,
  type ChunkFrame,
  type NodeFrame,
  type OverlayFrame,
  type ResearcherFrame,
} from "./protocol.ts";
import { writeChunks } from "./server.ts";
import { OverlayKeys } from "./overlay-crypto.ts";
import { OverlayPinSet, type OverlayPins } from "./overlay-pins.ts";
import { cutOverlay, OverlayAssembler } from "./overlay-chunks.ts";
import { waitDrain } from "./drain.ts";
import { newId } from "../core/ids.ts";
import { UnknownPeerError } from "../core/errors.ts";

/**
 * TLS of a node's connection.
 * @example
 * ```ts
 * const tls: ClientTlsOptions = {
 *   ca: readFileSync("ca.pem"),
 *   cert: readFileSync("node.pem"),
 *   key: readFileSync("node-key.pem"),
 *   serverName: "researcher.lab",
 * };
 * ```
 */
export interface ClientTlsOptions {
  /** PEM CA (or the server's own certificate) the server certificate must chain to. */
  ca: Buffer | string;
  /** Pinned SHA-256 fingerprint of the server certificate ("AB:CD:…"), checked on top of `ca`. */
  fingerprint256?: string;
  /** PEM certificate of this node, for mutual TLS. */
  cert?: Buffer | string;
  /** PEM key of this node, for mutual TLS. */
  key?: Buffer | string;
  /** Name to verify in the server certificate instead of the host. */
  serverName?: string;
}

/**
 * A researcher to connect to.
 * @example
 * ```ts
 * const researchers: ResearcherAddress[] = [
 *   { host: "localhost", port: 50051 },
 *   { host: "researcher.lab", port: 50052, tls: { ca: readFileSync("ca.pem") } },
 * ];
 * ```
 */
export interface ResearcherAddress {
  host: string;
  port: number;
  tls?: ClientTlsOptions;
}

/**
 * What a task handler gets besides the task.
 * @example
 * ```ts
 * const onTask = (task: Message, context: TaskContext) => {
 *   log.info(`task ${task.tag} from researcher ${context.researcherId} on node ${context.nodeId}`);
 * };
 * ```
 */
export interface TaskContext {
  nodeId: string;
  researcherId: string;
}

/**
 * Options of {@link NodeClient}.
 * @example
 * ```ts
 * const options: NodeClientOptions = {
 *   nodeId: "n1",
 *   researchers: [{ host: "localhost", port: 50051 }],
 *   onTask: (task) => ({ ok: true, tag: task.tag }),
 *   reconnectMaxMs: 2000,
 * };
 * const node = new NodeClient(options);
 * ```
 */
export interface NodeClientOptions {
  /** This node's id. */
  nodeId: string;
  /** Researchers to serve. */
  researchers: ResearcherAddress[];
  /** Runs a task; a returned Message is the reply, another value becomes the reply's payload, undefined means no reply. */
  onTask: (task: Message, context: TaskContext) => unknown;
  /** First reconnection delay. Default 100. */
  reconnectMinMs?: number;
  /** Largest reconnection delay. Default 5000. */
  reconnectMaxMs?: number;
  /** Attempts of a send before ResearcherUnavailableError. Default 5. */
  sendAttempts?: number;
  /** Deadline of one send attempt. Default 60 000. */
  sendTimeoutMs?: number;
  /** Largest chunk data size. Default 4 MiB less the envelope. */
  chunkBytes?: number;
  /** Task ids at least remembered to de-duplicate re-delivered tasks (at most twice this). Default 10 000. */
  dedupWindow?: number;
  /**
   * HTTP/2 flow-control window of the node's connections, in bytes: how much the researcher may send
   * before the node acknowledges it. HTTP/2's default of 64 KiB makes a large task wait for an
   * acknowledgement every 64 KiB; 16 MiB moved a 64 MiB task 1.4–1.8× faster on loopback. Default
   * 16 MiB; at least 65 535.
   */
  flowControlWindowBytes?: number;
  /** Logger. Default `InternalLogger("federated.node")`. */
  logger?: LoggerLike;
  /** End-to-end encrypt overlay messages (and refuse unencrypted ones). Default false. */
  overlayEncryption?: boolean;
  /**
   * This node's X25519 private key (PEM or KeyObject, see `generateOverlayPrivateKey`), so that its
   * overlay public key stays the same across restarts and other nodes can pin it. Default: a new key
   * pair at each start. Needs overlayEncryption.
   */
  overlayPrivateKey?: string | Buffer | import("node:crypto").KeyObject;
  /**
   * Expected overlay public keys of other nodes, learned out of band: by node id, the key's fingerprint
   * (`overlayFingerprint` of that node, "AB:CD:…") or its 32 raw bytes. A key the researcher publishes
   * that does not match is refused with an AuthenticationError (through onError, and thrown by
   * sendOverlay to that node). Needs overlayEncryption.
   */
  pinnedPeerKeys?: OverlayPins;
  /** Refuse the published keys of nodes that have no pin as well. Default false. */
  requirePinnedPeers?: boolean;
  /**
   * How tasks are fetched. "stream" (default) keeps one bidirectional Session stream open. "poll" is for
   * networks that cannot keep one (proxies that buffer or cut long streams): the node long-polls
   * GetTaskUnary, sends every reply through ReplyTask and feedback through the Feedback call. Overlay
   * messages need "stream".
   */
  mode?: "stream" | "poll";
  /** "poll" mode: how long one GetTaskUnary call waits for a task before returning empty. Default 30 000. */
  pollWaitMs?: number;
}

/**
 * A federated node.
 * @example
 * ```ts
 * const node = new NodeClient({ nodeId: "n1", researchers: [{ host: "localhost", port: 50051 }],
 *   onTask: (task) => train(task.payload) });
 * node.start();
 * await node.waitConnected({ timeoutMs: 10_000 });
 * ```
 */
export class NodeClient {
  readonly nodeId: string;
  private readonly connections: ResearcherConnection[];
  /** Task ids seen lately, in two generations (see {@link firstSight}). */
  private seen = new Set<string>();
  private seenBefore = new Set<string>();
  private readonly log: LoggerLike;
  private readonly overlayHandlers: ((message: Message, sourceNodeId: string) => void)[] = [];
  private readonly errorHandlers: ((err: WeftError) => void)[] = [];
  private started = false;
  /** @internal this node's overlay key pair, when overlayEncryption is on. */
  readonly overlayKeys: OverlayKeys | undefined;
  /** @internal public keys of the other nodes, as published by the researcher (and matching any pin). */
  readonly peerKeys = new Map<string, Uint8Array>();
  /** Why the published key of a node was refused, by node id (cleared when an acceptable key comes). */
  private readonly refusedKeys = new Map<string, AuthenticationError>();
  private readonly pins: OverlayPinSet | undefined;

  constructor(readonly options: NodeClientOptions) {
    if (typeof options.nodeId !== "string" || options.nodeId === "")
      throw new ConfigError("NodeClient needs a non-empty nodeId");
    if (!Array.isArray(options.researchers) || options.researchers.length === 0) {
      throw new ConfigError("NodeClient needs at least one researcher { host, port }");
    }
    const window = options.flowControlWindowBytes;
    if (window !== undefined && !(Number.isInteger(window) && window >= 65_535 && window < 2 ** 31)) {
      throw new ConfigError(
        `NodeClient flowControlWindowBytes must be an integer from 65 535 to 2³¹ − 1, not ${String(window)}`,
      );
    }
    if (options.mode !== undefined && options.mode !== "stream" && options.mode !== "poll")
      throw new ConfigError(`NodeClient mode must be "stream" or "poll", not ${String(options.mode)}`);
    this.nodeId = options.nodeId;
    this.log = options.logger ?? new InternalLogger("federated.node");
    const encrypted = options.overlayEncryption === true;
    const pinned = options.pinnedPeerKeys !== undefined || options.requirePinnedPeers === true;
    if (!encrypted && (pinned || options.overlayPrivateKey !== undefined)) {
      throw new ConfigError(
        "pinnedPeerKeys, requirePinnedPeers and overlayPrivateKey concern encrypted overlay messages; set overlayEncryption: true as well",
      );
    }
    this.pins = pinned
      ? new OverlayPinSet(options.pinnedPeerKeys ?? {}, options.requirePinnedPeers ?? false)
      : undefined;
    this.overlayKeys = encrypted ? new OverlayKeys(options.overlayPrivateKey) : undefined;
    this.connections = options.researchers.map((r) => new ResearcherConnection(this, r, this.log));
  }

  /** Starts connecting (in the background, with backoff). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const c of this.connections) c.open();
  }

  /** Closes every connection. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.connections.map((c) => c.close()));
  }

  /** True when every researcher's stream is open. */
  isConnected(): boolean {
    return this.connections.every((c) => c.connected);
  }

  /** Resolves once connected; rejects with ResearcherUnavailableError (or AuthenticationError) after `timeoutMs` (default 10 000). */
  async waitConnected(options: { timeoutMs?: number } = {}): Promise<void> {
    await Promise.all(this.connections.map((c) => c.waitConnected(options.timeoutMs ?? 10_000)));
  }

  /** Sends `message` to the researcher named by its destination (else the first); retried on UNAVAILABLE. */
  async send(message: Message): Promise<void> {
    const c =
      this.connections.find((x) => x.researcherId === message.destination) ??
      (this.connections[0] as ResearcherConnection);
    await c.sendStreamed(message, "MESSAGE", "");
  }

  /** Sends `message` to every researcher. */
  async broadcast(message: Message): Promise<void> {
    await Promise.all(this.connections.map((c) => c.sendStreamed(message, "MESSAGE", "")));
  }

  /** Forwards a log record to the researchers as Feedback. */
  feedbackLog(level: string, text: string): void {
    for (const c of this.connections)
      c.write({ feedback: { nodeId: this.nodeId, log: { level, text, timeMs: Date.now() } } });
  }

  /** Sends a training scalar to the researchers as Feedback. */
  feedbackScalar(name: string, value: number, step = 0, requestId = ""): void {
    for (const c of this.connections)
      c.write({ feedback: { nodeId: this.nodeId, scalar: { name, value, step, requestId } } });
  }

  /** A logger whose records go to `base` and, as Feedback, to the researchers. */
  forwardingLogger(base: LoggerLike = this.log): LoggerLike {
    const fwd =
      (level: string, f: (m: string, ...a: unknown[]) => void) =>
      (msg: string, ...args: unknown[]): void => {
        f.call(base, msg, ...args);
        this.feedbackLog(level, msg);
      };
    return {
      debug: fwd("DEBUG", base.debug),
      info: fwd("INFO", base.info),
      warn: fwd("WARN", base.warn),
      error: fwd("ERROR", base.error),
      critical: fwd("CRITICAL", base.critical),
      process: fwd("PROCESS", base.process),
    };
  }

  /** SHA-256 fingerprint of this node's overlay public key, to give other nodes for pinning; undefined without overlayEncryption. */
  get overlayFingerprint(): string | undefined {
    return this.overlayKeys?.fingerprint;
  }

  /**
   * Sends an overlay message to another node through the first researcher ("stream" mode only). A
   * message larger than `chunkBytes` travels in several pieces, joined by the receiving node; the pieces
   * are written as the stream takes them (waiting for it to drain), so a large message is not buffered
   * whole a second time. Resolves once every piece is written; rejects with ResearcherUnavailableError
   * when the node is not connected or the stream ends first (the message is then not delivered: send it
   * again once connected). Wrong mode, a missing or refused peer key throw at once.
   * @example
   * ```ts
   * await node.waitConnected();
   * await node.sendOverlay("n2", new Message({ tag: "weights", source: "n1", destination: "n2", payload }));
   * ```
   */
  sendOverlay(destNodeId: string, message: Message): Promise<void> {
    if (this.options.mode === "poll") {
      throw new ConfigError('overlay messages need a Session stream; use mode "stream" (the default)');
    }
    const prepared = prepareChunks(message, Number.MAX_SAFE_INTEGER);
    let bytes: Uint8Array = Buffer.concat([prepared.head, ...prepared.frames]);
    let nonce: Uint8Array | undefined;
    if (this.overlayKeys !== undefined) {
      const key = this.peerKeys.get(destNodeId);
      if (key === undefined) {
        const refused = this.refusedKeys.get(destNodeId);
        if (refused !== undefined) throw refused;
        throw new UnknownPeerError(
          `no public key of node "${destNodeId}" yet; it must connect with overlayEncryption on before it can be sent encrypted overlay messages`,
        );
      }
      const sealed = this.overlayKeys.seal(this.nodeId, destNodeId, key, bytes);
      bytes = sealed.payload;
      nonce = sealed.nonce;
    }
    const pieces = cutOverlay(bytes, this.options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    const base: OverlayFrame = {
      sourceNodeId: this.nodeId,
      destNodeId,
      payload: bytes,
      encrypted: nonce !== undefined,
      ...(nonce !== undefined ? { nonce } : {}),
    };
    const connection = this.connections[0] as ResearcherConnection;
    if (pieces.length === 1) return connection.writeInOrder([{ overlay: base }]);
    const messageId = newId();
    return connection.writeInOrder(
      pieces.map((payload, index) => ({
        overlay: { ...base, payload, messageId, index, count: pieces.length },
      })),
    );
  }

  /** Registers a handler of overlay messages from other nodes. */
  onOverlay(handler: (message: Message, sourceNodeId: string) => void): void {
    this.overlayHandlers.push(handler);
  }

  /** Registers a handler of errors (connection refused for identity, bad frames…). */
  onError(handler: (err: WeftError) => void): void {
    this.errorHandlers.push(handler);
  }

  /** @internal true the first time a task id is seen. */
  firstSight(id: string): boolean {
    if (this.seen.has(id) || this.seenBefore.has(id)) return false;
    // Two generations of dedupWindow ids each: when the newer is full it becomes the older and the
    // oldest generation is dropped at once. The last dedupWindow ids (and up to twice as many) are
    // remembered, with no per-id bookkeeping of which to forget.
    if (this.seen.size >= Math.max(1, this.options.dedupWindow ?? 10_000)) {
      this.seenBefore = this.seen;
      this.seen = new Set();
    }
    this.seen.add(id);
    return true;
  }

  /** @internal a key the researcher published for another node: kept unless a pin refuses it. */
  acceptPeerKey(nodeId: string, publicKey: Uint8Array, researcher: string): void {
    if (nodeId === this.nodeId) return;
    const verdict = this.pins?.check(nodeId, publicKey, researcher) ?? { ok: true };
    if (verdict.ok) {
      this.refusedKeys.delete(nodeId);
      this.peerKeys.set(nodeId, publicKey);
      return;
    }
    // Never keep (or go on using) a key that fails its pin; say so once per refused key, not on every
    // re-publication of the key table.
    this.peerKeys.delete(nodeId);
    const before = this.refusedKeys.get(nodeId);
    this.refusedKeys.set(nodeId, verdict.error);
    if (before?.message !== verdict.error.message) this.reportError(verdict.error);
  }

  /** @internal */
  deliverOverlay(o: OverlayFrame, assembler: OverlayAssembler): void {
    try {
      let bytes: Uint8Array | undefined = o.payload;
      if ((o.count ?? 0) > 1 || (o.index ?? 0) > 0) {
        bytes = assembler.push(o.sourceNodeId, o.messageId ?? "", o.index ?? 0, o.count ?? 0, o.payload);
        if (bytes === undefined) return;
      }
      if (this.overlayKeys !== undefined) {
        if (!o.encrypted)
          throw new AuthenticationError(
            `unencrypted overlay from "${o.sourceNodeId}" refused (overlayEncryption is on)`,
          );
        const key = this.peerKeys.get(o.sourceNodeId);
        if (key === undefined) {
          const refused = this.refusedKeys.get(o.sourceNodeId);
          throw new AuthenticationError(
            refused !== undefined
              ? `overlay from "${o.sourceNodeId}" refused: its published key failed its pin (${refused.message})`
              : `overlay from "${o.sourceNodeId}", whose public key is unknown, refused`,
          );
        }
        bytes = this.overlayKeys.open(o.sourceNodeId, this.nodeId, key, bytes, o.nonce);
      }
      const r = new Reassembler();
      const m = r.push("overlay", 0, 1, bytes) as Message;
      for (const h of this.overlayHandlers) h(m, o.sourceNodeId);
    } catch (err) {
      this.reportError(err as WeftError);
    }
  }

  /** @internal */
  reportError(err: WeftError): void {
    if (this.errorHandlers.length === 0) this.log.error(err.message);
    for (const h of this.errorHandlers) h(err);
  }
}

type Duplex = grpc.ClientDuplexStream<NodeFrame, ResearcherFrame>;

/** See {@link NodeClientOptions.flowControlWindowBytes}. */
const DEFAULT_FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

class ResearcherConnection {
  researcherId = "";
  connected = false;
  private client: grpc.Client & Record<string, any>;
  private call: Duplex | undefined;
  private pollCall: grpc.ClientReadableStream<ChunkFrame> | undefined;
  private abort = new AbortController();
  private closed = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastError: WeftError | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly unacked = new Map<string, NodeFrame>();
  private acks: string[] = [];
  /** Overlay messages arriving in pieces on the current stream. */
  private overlayAssembler = new OverlayAssembler();
  /** Replies collected while a batch of tasks is being run, sent as one frame after it. */
  private replyBatch: ChunkFrame[] | undefined;
  private readonly label: string;

  constructor(
    private readonly node: NodeClient,
    private readonly address: ResearcherAddress,
    private readonly log: LoggerLike,
  ) {
    this.label = `${address.host}:${address.port}`;
    const Client = researcherClientConstructor();
    this.client = new Client(this.label, credentials(address.tls), {
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2000,
      "grpc-node.flow_control_window": node.options.flowControlWindowBytes ?? DEFAULT_FLOW_CONTROL_WINDOW,
      ...(address.tls?.serverName !== undefined
        ? { "grpc.ssl_target_name_override": address.tls.serverName }
        : {}),
    }) as grpc.Client & Record<string, any>;
  }

  open(): void {
    this.closed = false;
    this.reopen();
  }

  private get polling(): boolean {
    return this.node.options.mode === "poll";
  }

  private reopen(): void {
    if (this.polling) this.poll();
    else this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.abort.abort();
    this.call?.cancel();
    this.call = undefined;
    this.pollCall?.cancel();
    this.pollCall = undefined;
    for (const w of this.waiters) w();
    this.client.close();
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const cause = this.lastError;
        if (cause instanceof AuthenticationError) reject(cause);
        else
          reject(
            new ResearcherUnavailableError(
              `researcher ${this.label} not reachable within ${timeoutMs} ms${cause ? `: ${cause.message}` : ""}; start the researcher or check host, port and TLS`,
              { cause },
            ),
          );
      }, timeoutMs);
      const check = (): void => {
        if (this.closed) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new ClosedError("node client stopped while waiting for a connection"));
        } else if (this.connected) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  write(frame: NodeFrame): boolean {
    if (this.polling) {
      // No stream to write on: feedback goes through its own unary call, best effort like on a stream.
      if (frame.feedback === undefined || this.closed) return false;
      (this.client.Feedback as (f: unknown, cb: (err: unknown) => void) => void)(frame.feedback, (err) => {
        if (err) this.log.debug(`feedback to ${this.label} lost: ${(err as Error).message}`);
      });
      return true;
    }
    if (this.call === undefined || !this.connected) return false;
    return this.call.write(frame);
  }

  /**
   * Writes `frames` on the open Session stream in order, waiting for it to drain whenever its buffer is
   * full. Rejects with ResearcherUnavailableError when there is no open stream or it ends meanwhile.
   */
  async writeInOrder(frames: readonly NodeFrame[]): Promise<void> {
    for (const frame of frames) {
      const call = this.call;
      if (this.closed || this.polling || call === undefined || !this.connected) {
        throw new ResearcherUnavailableError(
          `not connected to researcher ${this.label}; nothing more was sent (send again once connected: await waitConnected())`,
        );
      }
      if (!call.write(frame) && !(await waitDrain(call))) {
        throw new ResearcherUnavailableError(
          `the stream to researcher ${this.label} ended while sending; send again once connected`,
        );
      }
    }
  }

  /** Sends a message (reply or own) of any size through ReplyTask, retrying on UNAVAILABLE. */
  async sendStreamed(message: Message, kind: "REPLY" | "MESSAGE", requestId: string): Promise<void> {
    const prepared = prepareChunks(message, this.node.options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    const attempts = this.node.options.sendAttempts ?? 5;
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      if (this.closed) throw new ClosedError("node client stopped");
      try {
        await new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + (this.node.options.sendTimeoutMs ?? 60_000);
          const call = (
            this.client.ReplyTask as (
              o: grpc.CallOptions,
              cb: grpc.requestCallback<unknown>,
            ) => grpc.ClientWritableStream<ChunkFrame>
          )({ deadline }, (err) => (err ? reject(err) : resolve()));
          Promise.resolve(
            writeChunks(call, this.abort.signal, prepared, message.messageId, kind, (c) => c, {
              requestId,
              nodeId: this.node.nodeId,
            }),
          )
            .then((ok) => (ok ? call.end() : call.cancel()))
            .catch(reject);
        });
        return;
      } catch (err) {
        lastErr = err;
        const code = (err as grpc.ServiceError).code;
        if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED)
          throw grpcToWeft(err as grpc.ServiceError, this.label);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** i)));
      }
    }
    throw new ResearcherUnavailableError(
      `researcher ${this.label} unavailable after ${attempts} attempts; start it or check the address`,
      { cause: lastErr },
    );
  }

  private connect(): void {
    if (this.closed) return;
    this.abort = new AbortController();
    const call = (this.client.Session as () => Duplex)();
    this.call = call;
    const reassembler = new Reassembler();
    this.overlayAssembler.clear();
    let ended = false;
    const onEnd = (err?: grpc.ServiceError): void => {
      if (ended) return;
      ended = true;
      this.connected = false;
      this.abort.abort();
      if (this.call === call) this.call = undefined;
      if (err !== undefined && err.code !== grpc.status.CANCELLED) {
        this.lastError = grpcToWeft(err, this.label);
        if (this.lastError instanceof AuthenticationError) this.node.reportError(this.lastError);
      }
      this.scheduleReconnect();
    };
    call.on("error", (e: grpc.ServiceError) => onEnd(e));
    call.on("end", () => onEnd());
    call.on("data", (frame: ResearcherFrame) => {
      try {
        this.onFrame(call, reassembler, frame);
      } catch (err) {
        this.node.reportError(err as WeftError);
        call.cancel();
      }
    });
    call.write({
      hello: {
        nodeId: this.node.nodeId,
        protocolVersion: PROTOCOL_VERSION,
        ...(this.node.overlayKeys ? { publicKey: this.node.overlayKeys.publicKey } : {}),
      },
    });
  }

  /**
   * "poll" mode: one GetTaskUnary long poll; runs the task it brings, if any, then polls again. The
   * researcher sends its response headers as soon as the poll is registered, which is when this node
   * counts as connected.
   */
  private poll(): void {
    if (this.closed) return;
    const waitMs = this.node.options.pollWaitMs ?? 30_000;
    const call = (
      this.client.GetTaskUnary as (r: unknown, o: grpc.CallOptions) => grpc.ClientReadableStream<ChunkFrame>
    )({ nodeId: this.node.nodeId, waitMs }, { deadline: Date.now() + waitMs + 10_000 });
    this.pollCall = call;
    const reassembler = new Reassembler();
    let task: Message | undefined;
    let taskId = "";
    let settled = false;
    call.on("metadata", () => this.markConnected());
    call.on("data", (c: ChunkFrame) => {
      try {
        const m = reassembler.push(c.messageId, c.index, c.count, c.data);
        if (m !== undefined) {
          task = m;
          taskId = c.messageId;
        }
      } catch (err) {
        this.node.reportError(err as WeftError);
        call.cancel();
      }
    });
    const finish = (err?: grpc.ServiceError): void => {
      if (settled) return;
      settled = true;
      if (this.pollCall === call) this.pollCall = undefined;
      if (this.closed) return;
      if (err !== undefined && err.code !== grpc.status.CANCELLED) {
        this.connected = false;
        this.lastError = grpcToWeft(err, this.label);
        if (this.lastError instanceof AuthenticationError) this.node.reportError(this.lastError);
        this.scheduleReconnect();
        return;
      }
      if (task !== undefined) {
        this.markConnected();
        if (this.node.firstSight(taskId)) this.run(task);
        else this.log.debug(`task ${taskId} delivered again; not run twice`);
      }
      setImmediate(() => this.poll());
    };
    call.on("error", finish);
    call.on("end", () => finish());
  }

  private markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    this.attempt = 0;
    this.lastError = undefined;
    this.log.info(`node ${this.node.nodeId} polling researcher ${this.label}`);
    for (const w of [...this.waiters]) w();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const min = this.node.options.reconnectMinMs ?? 100;
    const max = this.node.options.reconnectMaxMs ?? 5000;
    const delay = Math.min(max, min * 2 ** Math.min(this.attempt++, 16)) * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => this.reopen(), delay);
    this.timer.unref();
  }

  private onFrame(call: Duplex, reassembler: Reassembler, frame: ResearcherFrame): void {
    switch (frame.kind) {
      case "welcome":
        this.researcherId = frame.welcome?.researcherId ?? "";
        this.connected = true;
        this.attempt = 0;
        this.lastError = undefined;
        this.log.info(`node ${this.node.nodeId} connected to researcher ${this.label}`);
        for (const f of this.unacked.values()) call.write(f); // replies the last stream may have lost
        for (const w of [...this.waiters]) w();
        return;
      case "batch": {
        // Replies to a batch of tasks go back as one batch frame.
        this.replyBatch = [];
        try {
          for (const c of frame.batch?.chunks ?? []) this.onTaskChunk(call, reassembler, c);
        } finally {
          const replies = this.replyBatch;
          this.replyBatch = undefined;
          if (replies.length === 1) this.write({ chunk: replies[0] as ChunkFrame });
          else if (replies.length > 1) this.write({ batch: { chunks: replies } });
        }
        return;
      }
      case "chunk":
        this.onTaskChunk(call, reassembler, frame.chunk as ChunkFrame);
        return;
      case "ack":
        for (const id of frame.ack?.messageIds ?? []) this.unacked.delete(id);
        return;
      case "overlay":
        this.node.deliverOverlay(frame.overlay as OverlayFrame, this.overlayAssembler);
        return;
      case "peerKeys":
        for (const k of frame.peerKeys?.keys ?? [])
          this.node.acceptPeerKey(k.nodeId, k.publicKey, this.label);
        return;
      case "notice":
        this.log.warn(`researcher ${this.label}: ${frame.notice?.text ?? ""}`);
        return;
      default:
        return;
    }
  }

  private onTaskChunk(call: Duplex, reassembler: Reassembler, c: ChunkFrame): void {
    const task = reassembler.push(c.messageId, c.index, c.count, c.data);
    if (task === undefined) return;
    if (!this.node.firstSight(c.messageId)) {
      this.ack(call, c.messageId);
      this.log.debug(`task ${c.messageId} delivered again; not run twice`);
      return;
    }
    // A reply written on this stream acknowledges its task; anything else is acknowledged apart.
    if (!this.run(task)) this.ack(call, c.messageId);
  }

  private ack(call: Duplex, id: string): void {
    this.acks.push(id);
    if (this.acks.length > 1) return;
    setImmediate(() => {
      const ids = this.acks;
      this.acks = [];
      if (this.call === call) call.write({ ack: { messageIds: ids } });
    });
  }

  /**
   * Runs a task; true when its reply was written on the stream before returning (the reply then
   * acknowledges the task). A handler returning a promise is acknowledged at once and answered later.
   */
  private run(task: Message): boolean {
    let result: unknown;
    try {
      result = this.node.options.onTask(task, {
        nodeId: this.node.nodeId,
        researcherId: this.researcherId,
      });
    } catch (err) {
      result = this.failed(task, err);
    }
    if (isThenable(result)) {
      result.then(
        (value) => void this.answer(task, value),
        (err: unknown) => void this.answer(task, this.failed(task, err)),
      );
      return false;
    }
    return this.answer(task, result);
  }

  private failed(task: Message, err: unknown): Message {
    this.log.error(`task ${task.tag} (${task.messageId}) failed: ${(err as Error).message}`);
    return task.reply({
      tag: "error",
      payload: { error: (err as Error).name, message: (err as Error).message },
    });
  }

  /** Sends the reply of `task`; true when it went on the stream as one chunk. */
  private answer(task: Message, result: unknown): boolean {
    if (result === undefined) return false;
    const reply = result instanceof Message ? result : task.reply({ payload: result });
    try {
      const chunkBytes = this.node.options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
      const prepared = prepareChunks(reply, chunkBytes);
      if (prepared.count > 1 || this.polling) {
        this.sendStreamed(reply, "REPLY", task.messageId).catch((err: unknown) =>
          this.node.reportError(err as WeftError),
        );
        return false;
      }
      const frame: NodeFrame = {
        chunk: {
          messageId: reply.messageId,
          index: 0,
          count: 1,
          data: EMPTY,
          parts: singleChunkParts(prepared),
          kind: "REPLY",
          requestId: task.messageId,
        },
      };
      this.unacked.set(reply.messageId, frame);
      if (this.replyBatch !== undefined) this.replyBatch.push(frame.chunk as ChunkFrame);
      else this.write(frame);
      return true;
    } catch (err) {
      this.node.reportError(err as WeftError);
      return false;
    }
  }
}

const EMPTY = new Uint8Array(0);

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

function credentials(tls: ClientTlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if (tls.ca === undefined || String(tls.ca).trim() === "") {
    throw new ConfigError(
      "node TLS needs `ca` (the CA or the server's own certificate); blind trust is not offered",
    );
  }
  const pin = tls.fingerprint256?.toUpperCase();
  try {
    return grpc.credentials.createSsl(
      Buffer.from(tls.ca),
      tls.key === undefined ? null : Buffer.from(tls.key),
      tls.cert === undefined ? null : Buffer.from(tls.cert),
      pin === undefined
        ? {}
        : {
            checkServerIdentity: (_host: string, cert: PeerCertificate) => {
              const got = cert.fingerprint256 ?? createHash("sha256").update(cert.raw).digest("hex");
              return got.toUpperCase() === pin
                ? undefined
                : new Error(`server certificate fingerprint ${got} is not the pinned ${pin}`);
            },
          },
    );
  } catch (err) {
    throw new ConfigError(
      `node TLS options are invalid: ${(err as Error).message}; give PEM ca (and cert + key for mutual TLS)`,
      { cause: err },
    );
  }
}

function grpcToWeft(err: grpc.ServiceError, label: string): WeftError {
  if (err.code === grpc.status.UNAUTHENTICATED)
    return new AuthenticationError(`researcher ${label} refused this node: ${err.details}`, { cause: err });
  if (/certificate|handshake|SSL|TLS|self.signed/i.test(err.details ?? "")) {
    return new AuthenticationError(
      `TLS with researcher ${label} failed: ${err.details}; check the CA, the pinned fingerprint and the node certificate`,
      { cause: err },
    );
  }
  return new ResearcherUnavailableError(`researcher ${label}: ${err.details || err.message}`, { cause: err });
}
