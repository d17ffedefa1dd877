/**
 * ResearcherServer: the gRPC server that hands tasks to nodes, tracks their status and their replies,
 * and relays overlay messages between them.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import {
  AuthenticationError,
  ClosedError,
  NodeDisconnectedError,
  ConfigError,
  DecodeError,
  ReplyTimeoutError,
  UnknownPeerError,
  type WeftError,
} from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { Message, SessionMessage } from "../core/message.ts";
import { newId } from "../core/ids.ts";
import {
  chunkData,
  DEFAULT_CHUNK_BYTES,
  prepareChunks,
  Reassembler,
  singleChunkParts,
  type ChunkedMessage,
} from "./chunking.ts";
import {
  AgentStore,
  NodeActiveStatus,
  type AgentOptions,
  type NodeAgent,
  type QueuedTask,
} from "./node-agent.ts";
import {
  BATCH_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  researcherService,
  type ChunkFrame,
  type FeedbackFrame,
  type NodeFrame,
  type OverlayFrame,
  type ResearcherFrame,
  type TaskRequestFrame,
} from "./protocol.ts";
import { ReplyRegistry, type ReplyCallback, type RequestRecord } from "./replies.ts";
import { waitDrain } from "./drain.ts";

/**
 * TLS of the researcher.
 * @example
 * ```ts
 * const tls: ServerTlsOptions = {
 *   cert: readFileSync("server.pem"),
 *   key: readFileSync("server-key.pem"),
 *   ca: readFileSync("ca.pem"),
 *   requireClientCert: true,
 * };
 * await server.start({ port: 50051, tls });
 * ```
 */
export interface ServerTlsOptions {
  /** PEM certificate chain of the server. */
  cert: Buffer | string;
  /** PEM private key of the server. */
  key: Buffer | string;
  /** PEM CA that signs node certificates; required with `requireClientCert`. */
  ca?: Buffer | string;
  /** Mutual TLS: refuse nodes without a certificate signed by `ca`. Default false. */
  requireClientCert?: boolean;
  /** With mutual TLS, refuse a node whose certificate's CN/SAN is not its node id. Default true. */
  checkNodeIdentity?: boolean;
}

/**
 * Options of {@link ResearcherServer}.
 * @example
 * ```ts
 * const options: ResearcherServerOptions = {
 *   researcherId: "r1",
 *   replyGraceMs: 30_000,
 *   nodeDisconnectionTimeoutMs: 5000,
 * };
 * const server = new ResearcherServer(options);
 * ```
 */
export interface ResearcherServerOptions extends AgentOptions {
  /** Id announced to nodes. Default a new unique id (see newId). */
  researcherId?: string;
  /** Largest chunk data size. Default {@link DEFAULT_CHUNK_BYTES} (4 MiB less the envelope). */
  chunkBytes?: number;
  /**
   * How long settled requests are at least remembered (to recognise late and duplicate replies), unless
   * `maxSettledReplies` is reached first; they are forgotten within twice this. Default 60 000.
   */
  replyGraceMs?: number;
  /**
   * At most this many settled requests are remembered (for `getRequest` and to recognise a reply resent
   * after a reconnect), however short the grace period makes them live. Default 100 000.
   */
  maxSettledReplies?: number;
  /** Logger. Default `InternalLogger("federated.researcher")`. */
  logger?: LoggerLike;
  /** Inspects (and may replace or drop, by returning undefined) each relayed overlay message. */
  overlayHook?: (overlay: OverlayFrame) => OverlayFrame | undefined;
}

/**
 * Where and how to listen.
 * @example
 * ```ts
 * const options: StartOptions = { host: "0.0.0.0", port: 0 };
 * const { port } = await server.start(options);
 * ```
 */
export interface StartOptions {
  /** Interface. Default "127.0.0.1". */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** TLS; plaintext when omitted. */
  tls?: ServerTlsOptions;
}

/**
 * Something a node sent on its own: a message, a log record or a scalar.
 * @example
 * ```ts
 * server.onMessage((event: NodeEvent) => {
 *   if (event.kind === "scalar") log.info(`${event.nodeId} ${event.name}=${event.value} at step ${event.step}`);
 * });
 * ```
 */
export type NodeEvent =
  | { kind: "message"; nodeId: string; message: Message }
  | { kind: "log"; nodeId: string; level: string; text: string; timeMs: number }
  | { kind: "scalar"; nodeId: string; name: string; value: number; step: number; requestId: string };

/**
 * Public view of a node.
 * @example
 * ```ts
 * const busy: NodeInfo[] = server.getAllNodes().filter((n) => n.queued + n.inFlight > 0);
 * ```
 */
export interface NodeInfo {
  id: string;
  status: NodeActiveStatus;
  queued: number;
  inFlight: number;
}

type SessionCall = grpc.ServerDuplexStream<NodeFrame, ResearcherFrame>;

/** Longest delay before received replies are acknowledged. */
const ACK_DELAY_MS = 50;
/** Replies acknowledged at once without waiting for the delay. */
const ACK_BATCH = 512;

/** Most tasks in one batch frame. */
const MAX_BATCH = 64;
/** A batch frame stops growing past this many bytes. */
const MAX_BATCH_BYTES = 1024 * 1024;

/** A queued task whose failure settles its request (a class: no closure made per task). */
class ResearcherTask implements QueuedTask {
  readonly enqueuedAt = Date.now();
  retries = 0;
  constructor(
    readonly requestId: string,
    readonly prepared: ChunkedMessage,
    private readonly replies: ReplyRegistry,
  ) {}

  fail(err: WeftError): void {
    this.replies.fail(this.requestId, err);
  }
}

function taskChunk(task: QueuedTask): ChunkFrame {
  return {
    messageId: task.requestId,
    index: 0,
    count: 1,
    data: EMPTY,
    parts: singleChunkParts(task.prepared),
    kind: "TASK",
  };
}

function flushAcks(session: { call: SessionCall; acks: string[] }): void {
  if (session.acks.length === 0) return;
  const ids = session.acks;
  session.acks = [];
  if (!session.call.destroyed) session.call.write({ ack: { messageIds: ids } });
}

/**
 * The researcher: nodes dial in, the researcher sends them tasks and collects replies.
 * @example
 * ```ts
 * const server = new ResearcherServer({ nodeDisconnectionTimeoutMs: 5000 });
 * const { port } = await server.start({ port: 50051 });
 * const reply = await server.request(new Message({ tag: "train", source: "r", destination: "n1", payload: w }), "n1");
 * await server.stop();
 * ```
 */
export class ResearcherServer {
  readonly researcherId: string;
  readonly agents: AgentStore;
  private readonly replies: ReplyRegistry;
  private readonly log: LoggerLike;
  private readonly chunkBytes: number;
  private server: grpc.Server | undefined;
  private readonly sessions = new Map<
    string,
    { call: SessionCall; abort: AbortController; acks: string[] }
  >();
  private readonly messageHandlers: ((e: NodeEvent) => void)[] = [];
  private readonly statusHandlers: ((
    nodeId: string,
    status: NodeActiveStatus,
    previous: NodeActiveStatus,
  ) => void)[] = [];
  private tls: ServerTlsOptions | undefined;
  private boundPort = 0;

  constructor(private readonly options: ResearcherServerOptions = {}) {
    const maxSettled = options.maxSettledReplies;
    if (maxSettled !== undefined && !(Number.isInteger(maxSettled) && maxSettled >= 2)) {
      // Below 2 (or not a number) the bound could not keep even the reply that just arrived.
      throw new ConfigError(`maxSettledReplies must be an integer of at least 2, not ${String(maxSettled)}`);
    }
    this.researcherId = options.researcherId ?? newId();
    this.log = options.logger ?? new InternalLogger("federated.researcher");
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.replies = new ReplyRegistry(this.log, options.replyGraceMs ?? 60_000, options.maxSettledReplies);
    this.agents = new AgentStore(options, this.log, (agent, previous) => this.statusChanged(agent, previous));
  }

  /** The port listened on (after start). */
  get port(): number {
    return this.boundPort;
  }

  /** Starts listening; resolves with the bound port. Port in use or bad TLS material → {@link ConfigError}. */
  async start(options: StartOptions = {}): Promise<{ port: number }> {
    if (this.server !== undefined)
      throw new ConfigError("researcher server is already started; stop() it first");
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 0;
    this.tls = options.tls;
    let creds: grpc.ServerCredentials;
    try {
      creds =
        options.tls === undefined
          ? grpc.ServerCredentials.createInsecure()
          : grpc.ServerCredentials.createSsl(
              options.tls.ca === undefined ? null : Buffer.from(options.tls.ca),
              [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
              options.tls.requireClientCert ?? false,
            );
    } catch (err) {
      throw new ConfigError(
        `researcher TLS options are invalid: ${(err as Error).message}; give PEM cert, key and ca`,
        { cause: err },
      );
    }
    const server = new grpc.Server({ "grpc.keepalive_permit_without_calls": 1 });
    server.addService(researcherService(), {
      Session: (call: SessionCall) => this.onSession(call),
      GetTaskUnary: (call: grpc.ServerWritableStream<TaskRequestFrame, ChunkFrame>) =>
        void this.onGetTask(call),
      ReplyTask: (
        call: grpc.ServerReadableStream<ChunkFrame, { messageIds: string[] }>,
        cb: grpc.sendUnaryData<{ messageIds: string[] }>,
      ) => this.onReplyTask(call, cb),
      Feedback: (
        call: grpc.ServerUnaryCall<FeedbackFrame, { messageIds: string[] }>,
        cb: grpc.sendUnaryData<{ messageIds: string[] }>,
      ) => {
        this.onFeedback(call.request, this.peerIdentityError(call, call.request.nodeId));
        cb(null, { messageIds: [] });
      },
    });
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    try {
      this.boundPort = await new Promise<number>((resolve, reject) =>
        server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
      );
    } catch (err) {
      server.forceShutdown();
      const text = (err as Error).message;
      if (/EADDRINUSE|address already in use/i.test(text)) {
        throw new ConfigError(
          `port ${port} on ${host} is already in use; stop the other server or choose another port (0 picks a free one)`,
          { cause: err },
        );
      }
      throw new ConfigError(`researcher cannot listen on ${address}: ${text}`, { cause: err });
    }
    this.server = server;
    this.log.info(`researcher ${this.researcherId} listening on ${host}:${this.boundPort}`);
    return { port: this.boundPort };
  }

  /** Ends every stream and stops the server within `graceMs` (default 2000); pending requests fail with ClosedError. */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions.values()) {
      s.abort.abort();
      s.call.end();
    }
    this.sessions.clear();
    for (const id of this.replies.pending())
      this.replies.fail(id, new ClosedError(`researcher stopped before request ${id} was answered`));
    this.agents.dispose();
    this.replies.dispose();
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, options.graceMs ?? 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Queues `message` for `nodeId`; returns the request id its reply will carry. Unknown node →
   * {@link UnknownPeerError}; DISCONNECTED node → NodeDisconnectedError (unless queueWhileDisconnected).
   */
  send(message: Message, nodeId: string, onReply?: ReplyCallback): string {
    if (this.server === undefined)
      throw new ClosedError("researcher server is not started; call start() first");
    const agent = this.agents.get(nodeId);
    if (agent === undefined) {
      throw new UnknownPeerError(
        `no node "${nodeId}" has connected to this researcher; known nodes: ${[...this.agents.getAll().keys()].join(", ") || "none"}`,
      );
    }
    const msg = this.replies.has(message.messageId) ? retarget(message, nodeId) : message;
    const prepared = prepareChunks(msg, this.chunkBytes);
    const requestId = msg.messageId;
    const task = new ResearcherTask(requestId, prepared, this.replies);
    agent.enqueue(task);
    this.replies.register(requestId, nodeId, onReply);
    return requestId;
  }

  /** Sends a copy of `message` to every node not DISCONNECTED; returns request ids by node. */
  broadcast(message: Message, onReply?: ReplyCallback): Map<string, string> {
    const ids = new Map<string, string>();
    for (const agent of this.agents.getAll().values()) {
      if (agent.status === NodeActiveStatus.DISCONNECTED) continue;
      ids.set(agent.id, this.send(retarget(message, agent.id), agent.id, onReply));
    }
    return ids;
  }

  /** Sends and waits for the reply; after `timeoutMs` (default none) the request is flushed and ReplyTimeoutError thrown. */
  request(message: Message, nodeId: string, options: { timeoutMs?: number } = {}): Promise<Message> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const id = this.send(message, nodeId, (err, reply) => {
        if (timer !== undefined) clearTimeout(timer);
        if (err !== undefined) reject(err);
        else resolve(reply as Message);
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.flush(id);
          reject(
            new ReplyTimeoutError(
              `node ${nodeId} did not reply to ${message.tag} within ${options.timeoutMs} ms`,
            ),
          );
        }, options.timeoutMs);
      }
    });
  }

  /** Stops waiting for `requestId`; with `stopped`, a later reply is still recorded. */
  flush(requestId: string, options: { stopped?: boolean } = {}): void {
    this.replies.flush(requestId, options.stopped ?? false);
  }

  /** Bookkeeping of one request while it is kept. */
  getRequest(requestId: string): Readonly<RequestRecord> | undefined {
    return this.replies.get(requestId);
  }

  /** Public view of a node, or undefined. */
  getNode(nodeId: string): NodeInfo | undefined {
    const a = this.agents.get(nodeId);
    return a === undefined ? undefined : info(a);
  }

  /** Public view of every node. */
  getAllNodes(): NodeInfo[] {
    return [...this.agents.getAll().values()].map(info);
  }

  /** Registers a handler of messages, logs and scalars nodes send on their own. */
  onMessage(handler: (event: NodeEvent) => void): void {
    this.messageHandlers.push(handler);
  }

  /** Registers a handler of node status changes. */
  onNodeStatus(
    handler: (nodeId: string, status: NodeActiveStatus, previous: NodeActiveStatus) => void,
  ): void {
    this.statusHandlers.push(handler);
  }

  // --- handlers -----------------------------------------------------------------------------------

  private onSession(call: SessionCall): void {
    let nodeId: string | undefined;
    let agent: NodeAgent | undefined;
    const abort = new AbortController();
    const reassembler = new Reassembler();
    const session = { call, abort, acks: [] as string[] };
    const end = (): void => {
      if (abort.signal.aborted && agent === undefined) return;
      abort.abort();
      reassembler.clear();
      if (nodeId !== undefined && this.sessions.get(nodeId) === session) this.sessions.delete(nodeId);
      const a = agent;
      agent = undefined;
      a?.detach();
    };
    call.on("error", end);
    call.on("close", end);
    call.on("end", () => {
      end();
      call.end();
    });
    call.on("data", (frame: NodeFrame) => {
      try {
        if (nodeId === undefined) {
          if (frame.kind !== "hello" || frame.hello === undefined || frame.hello.nodeId === "") {
            throw new DecodeError("the first frame of a Session must be a Hello with a node id");
          }
          const identityError = this.peerIdentityError(call, frame.hello.nodeId);
          if (identityError !== undefined) {
            this.log.warn(identityError.message);
            call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: identityError.message });
            return;
          }
          nodeId = frame.hello.nodeId;
          const old = this.sessions.get(nodeId);
          if (old !== undefined) {
            old.abort.abort();
            old.call.end();
          }
          this.sessions.set(nodeId, session);
          agent = this.agents.retrieve(nodeId);
          if (frame.hello.publicKey !== undefined && frame.hello.publicKey.byteLength > 0)
            agent.publicKey = frame.hello.publicKey;
          agent.attach();
          call.write({ welcome: { researcherId: this.researcherId, protocolVersion: PROTOCOL_VERSION } });
          this.publishKeys();
          void this.pump(agent, session, frame.hello.protocolVersion >= BATCH_PROTOCOL_VERSION);
          return;
        }
        this.onNodeFrame(nodeId, agent, session, reassembler, frame);
      } catch (err) {
        this.log.warn(`session of node ${nodeId ?? "?"}: ${(err as Error).message}; stream closed`);
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
      }
    });
  }

  private onNodeFrame(
    nodeId: string,
    agent: NodeAgent | undefined,
    session: { call: SessionCall; acks: string[] },
    reassembler: Reassembler,
    frame: NodeFrame,
  ): void {
    switch (frame.kind) {
      case "ack":
        for (const id of frame.ack?.messageIds ?? []) agent?.inFlight.delete(id);
        return;
      case "chunk":
        this.onNodeChunk(nodeId, session, reassembler, frame.chunk as ChunkFrame);
        return;
      case "batch":
        for (const c of frame.batch?.chunks ?? []) this.onNodeChunk(nodeId, session, reassembler, c);
        return;
      case "feedback":
        this.onFeedback(frame.feedback as FeedbackFrame, undefined, nodeId);
        return;
      case "overlay":
        this.relay(nodeId, frame.overlay as OverlayFrame, session.call);
        return;
      default:
        throw new DecodeError(`unexpected frame ${String(frame.kind)} from node ${nodeId}`);
    }
  }

  private onNodeChunk(
    nodeId: string,
    session: { call: SessionCall; acks: string[] },
    reassembler: Reassembler,
    c: ChunkFrame,
  ): void {
    const message = reassembler.push(c.messageId, c.index, c.count, c.data);
    if (message === undefined) return;
    this.onNodeMessage(nodeId, c, message);
    // Replies are acknowledged in batches, at most every ACK_DELAY_MS: the ack only lets the node
    // forget replies it would otherwise resend after a reconnect, so there is no hurry.
    session.acks.push(c.messageId);
    if (session.acks.length >= ACK_BATCH) flushAcks(session);
    else if (session.acks.length === 1) setTimeout(() => flushAcks(session), ACK_DELAY_MS).unref();
  }

  private onNodeMessage(nodeId: string, chunk: ChunkFrame, message: Message): void {
    if (chunk.kind === "MESSAGE") this.emit({ kind: "message", nodeId, message });
    else {
      // A reply also acknowledges its task: the node skips the separate Ack when it answers quickly.
      if (chunk.requestId !== undefined) this.agents.get(nodeId)?.inFlight.delete(chunk.requestId);
      this.replies.resolve(nodeId, chunk.requestId, message);
    }
  }

  private async pump(
    agent: NodeAgent,
    session: { call: SessionCall; abort: AbortController },
    batches: boolean,
  ): Promise<void> {
    const { call, abort } = session;
    const wrap = (c: ChunkFrame): ResearcherFrame => ({ chunk: c });
    for (;;) {
      if (abort.signal.aborted) return;
      // Take queued tasks without awaiting while there are some; wait only when the queue is empty.
      const task = agent.poll() ?? (await agent.next(abort.signal));
      if (task === undefined) return;
      if (!this.replies.isPending(task.requestId)) continue; // flushed while queued
      agent.inFlight.set(task.requestId, task);
      if (batches && task.prepared.count === 1 && agent.queue.length > 0) {
        // Several small tasks queued at once travel as one frame (one gRPC message instead of many).
        const batch = [taskChunk(task)];
        let bytes = task.prepared.totalBytes;
        while (batch.length < MAX_BATCH && bytes < MAX_BATCH_BYTES) {
          const next = agent.poll();
          if (next === undefined) break;
          if (!this.replies.isPending(next.requestId)) continue;
          if (next.prepared.count !== 1) {
            agent.queue.unshift(next);
            break;
          }
          agent.inFlight.set(next.requestId, next);
          batch.push(taskChunk(next));
          bytes += next.prepared.totalBytes;
        }
        if (batch.length > 1) {
          const written = call.write({ batch: { chunks: batch } }) || (await waitDrain(call, abort.signal));
          if (!written) return;
          continue;
        }
      }
      let ok = writeChunks(call, abort.signal, task.prepared, task.requestId, "TASK", wrap);
      if (ok !== true) ok = await ok;
      if (!ok) return; // detach() re-queues what is in flight
    }
  }

  private async onGetTask(call: grpc.ServerWritableStream<TaskRequestFrame, ChunkFrame>): Promise<void> {
    const { nodeId, waitMs } = call.request;
    const identityError =
      nodeId === "" ? new DecodeError("GetTaskUnary needs a node id") : this.peerIdentityError(call, nodeId);
    if (identityError !== undefined) {
      call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: identityError.message });
      return;
    }
    const agent = this.agents.retrieve(nodeId);
    agent.attach();
    // Headers now tell the polling node it is registered (its "connected"), before any task comes.
    call.sendMetadata(new grpc.Metadata());
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.min(waitMs || 30_000, 300_000));
    call.on("cancelled", () => abort.abort());
    try {
      const task = await agent.next(abort.signal);
      if (task !== undefined) {
        agent.inFlight.set(task.requestId, task);
        const ok = await writeChunks(call, abort.signal, task.prepared, task.requestId, "TASK", (c) => c);
        if (ok) agent.inFlight.delete(task.requestId);
      }
    } finally {
      clearTimeout(timer);
      agent.detach();
      call.end();
    }
  }

  private onReplyTask(
    call: grpc.ServerReadableStream<ChunkFrame, { messageIds: string[] }>,
    cb: grpc.sendUnaryData<{ messageIds: string[] }>,
  ): void {
    const reassembler = new Reassembler();
    const received: string[] = [];
    let failed = false;
    call.on("data", (c: ChunkFrame) => {
      if (failed) return;
      try {
        if (c.nodeId === undefined || c.nodeId === "" || this.agents.get(c.nodeId) === undefined) {
          throw new UnknownPeerError(
            `ReplyTask from unknown node "${c.nodeId ?? ""}"; open a Session (or GetTaskUnary) first`,
          );
        }
        const identityError = this.peerIdentityError(call, c.nodeId);
        if (identityError !== undefined) throw identityError;
        const message = reassembler.push(c.messageId, c.index, c.count, c.data);
        if (message === undefined) return;
        this.onNodeMessage(c.nodeId, c, message);
        received.push(c.messageId);
      } catch (err) {
        failed = true;
        this.log.warn(`ReplyTask: ${(err as Error).message}`);
        const code =
          err instanceof UnknownPeerError
            ? grpc.status.NOT_FOUND
            : err instanceof AuthenticationError
              ? grpc.status.UNAUTHENTICATED
              : grpc.status.INVALID_ARGUMENT;
        cb({ code, details: (err as Error).message });
      }
    });
    call.on("end", () => {
      if (!failed) cb(null, { messageIds: received });
    });
    call.on("error", () => reassembler.clear());
  }

  private onFeedback(f: FeedbackFrame, identityError: WeftError | undefined, nodeId = f.nodeId): void {
    if (identityError !== undefined) {
      this.log.warn(`feedback refused: ${identityError.message}`);
      return;
    }
    if (f.kind === "log" && f.log !== undefined)
      this.emit({ kind: "log", nodeId, level: f.log.level, text: f.log.text, timeMs: f.log.timeMs });
    else if (f.kind === "scalar" && f.scalar !== undefined)
      this.emit({ kind: "scalar", nodeId, ...f.scalar });
  }

  private relay(nodeId: string, overlay: OverlayFrame, from: SessionCall): void {
    if (overlay.sourceNodeId !== nodeId) {
      from.write({
        notice: {
          code: "OVERLAY_SOURCE",
          text: `overlay source "${overlay.sourceNodeId}" is not the sending node "${nodeId}"; dropped`,
          refId: "",
        },
      });
      return;
    }
    const dest = this.sessions.get(overlay.destNodeId);
    if (dest === undefined) {
      this.log.warn(`overlay from ${nodeId} to unknown or unconnected node ${overlay.destNodeId}; dropped`);
      from.write({
        notice: {
          code: "OVERLAY_UNKNOWN_DEST",
          text: `node "${overlay.destNodeId}" is not connected; overlay dropped`,
          refId: overlay.destNodeId,
        },
      });
      return;
    }
    const out = this.options.overlayHook === undefined ? overlay : this.options.overlayHook(overlay);
    if (out !== undefined) dest.call.write({ overlay: out });
  }

  private publishKeys(): void {
    const keys = [...this.agents.getAll().values()]
      .filter((a) => a.publicKey !== undefined)
      .map((a) => ({ nodeId: a.id, publicKey: a.publicKey as Uint8Array }));
    if (keys.length === 0) return;
    for (const s of this.sessions.values()) s.call.write({ peerKeys: { keys } });
  }

  private peerIdentityError(
    call: { getAuthContext(): { sslPeerCertificate?: import("node:tls").PeerCertificate } | null },
    nodeId: string,
  ): AuthenticationError | undefined {
    const tls = this.tls;
    if (tls === undefined || !(tls.requireClientCert ?? false) || !(tls.checkNodeIdentity ?? true))
      return undefined;
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined || cert === null || Object.keys(cert).length === 0) {
      return new AuthenticationError(
        `node "${nodeId}" presented no client certificate; mutual TLS is required`,
      );
    }
    const names = new Set<string>();
    const cn = cert.subject?.CN;
    if (typeof cn === "string") names.add(cn);
    for (const part of (cert.subjectaltname ?? "").split(",")) {
      const m = /^\s*(?:DNS|URI):(.*)$/.exec(part);
      if (m?.[1] !== undefined) names.add(m[1].trim());
    }
    if (!names.has(nodeId)) {
      return new AuthenticationError(
        `node id "${nodeId}" does not match its certificate identity (${[...names].join(", ") || "none"}); issue the node a certificate with CN or SAN "${nodeId}"`,
      );
    }
    return undefined;
  }

  private statusChanged(agent: NodeAgent, previous: NodeActiveStatus): void {
    if (agent.status === NodeActiveStatus.DISCONNECTED) {
      for (const id of this.replies.pendingOf(agent.id)) {
        if (agent.queue.some((t) => t.requestId === id)) continue; // still queued (queueWhileDisconnected)
        this.replies.fail(
          id,
          new NodeDisconnectedError(`node "${agent.id}" disconnected before replying to request ${id}`),
        );
      }
    }
    for (const h of this.statusHandlers) h(agent.id, agent.status, previous);
  }

  private emit(event: NodeEvent): void {
    for (const h of this.messageHandlers) {
      try {
        h(event);
      } catch (err) {
        this.log.error(`onMessage handler threw: ${(err as Error).message}`);
      }
    }
  }
}

function info(a: NodeAgent): NodeInfo {
  return { id: a.id, status: a.status, queued: a.queue.length, inFlight: a.inFlight.size };
}

/**
 * A copy of `message` addressed to `nodeId`, with a new message id and the same session.
 * @example
 * ```ts
 * const copy = retarget(message, "n2");
 * copy.destination; // "n2"
 * copy.messageId !== message.messageId; // true
 * ```
 */
export function retarget(message: Message, nodeId: string): Message {
  const init = {
    tag: message.tag,
    source: message.source,
    destination: nodeId,
    payload: message.payload,
    sessionId: message.sessionId,
  };
  if (message instanceof SessionMessage) {
    return new SessionMessage({
      ...init,
      sessionType: message.sessionType,
      sessionStage: message.sessionStage,
    });
  }
  return new Message(init);
}

type ChunkStream<T> =
  | grpc.ServerWritableStream<any, T>
  | grpc.ServerDuplexStream<any, T>
  | grpc.ClientWritableStream<T>
  | grpc.ClientDuplexStream<T, any>;

/**
 * Writes every chunk of `prepared` to a stream, waiting for drain; false when the stream ended first.
 * @internal
 */
export function writeChunks<T>(
  stream: ChunkStream<T>,
  signal: AbortSignal,
  prepared: ChunkedMessage,
  messageId: string,
  kind: ChunkFrame["kind"],
  wrap: (c: ChunkFrame) => T,
  extra: Partial<ChunkFrame> = {},
): boolean | Promise<boolean> {
  if (prepared.count === 1) {
    // The common case: one frame whose data pieces go straight into the protobuf bytes.
    if (signal.aborted) return false;
    const chunk: ChunkFrame = { messageId, index: 0, count: 1, data: EMPTY, kind, ...extra };
    chunk.parts = singleChunkParts(prepared);
    return stream.write(wrap(chunk)) || waitDrain(stream, signal);
  }
  return writeMany(stream, signal, prepared, messageId, kind, wrap, extra);
}

async function writeMany<T>(
  stream: ChunkStream<T>,
  signal: AbortSignal,
  prepared: ChunkedMessage,
  messageId: string,
  kind: ChunkFrame["kind"],
  wrap: (c: ChunkFrame) => T,
  extra: Partial<ChunkFrame>,
): Promise<boolean> {
  let index = 0;
  for (const data of chunkData(prepared)) {
    if (signal.aborted) return false;
    const more = stream.write(
      wrap({ messageId, index: index++, count: prepared.count, data, kind, ...extra }),
    );
    if (!more && !(await waitDrain(stream, signal))) return false;
  }
  return true;
}

const EMPTY = new Uint8Array(0);
