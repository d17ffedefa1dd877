/**
 * NodeClient: a node dials out to one or more researchers, receives tasks on a long-lived stream, runs
 * them and sends the replies back. It reconnects with backoff and never throws because a researcher is
 * not up yet.
 * @module
 */
import { AuthenticationError, ConfigError, type WeftError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import { DEFAULT_CHUNK_BYTES, prepareChunks, Reassembler } from "./chunking.ts";
import type { OverlayFrame } from "./protocol.ts";
import { OverlayKeys } from "./overlay-crypto.ts";
import { OverlayPinSet, type OverlayPins } from "./overlay-pins.ts";
import { cutOverlay, type OverlayAssembler } from "./overlay-chunks.ts";
import { newId } from "../core/ids.ts";
import { UnknownPeerError } from "../core/errors.ts";
import { ResearcherConnection } from "./researcher-connection.ts";
import type { ClientTlsOptions } from "./researcher-channel.ts";

export type { ClientTlsOptions } from "./researcher-channel.ts";

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
