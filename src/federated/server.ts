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
  ReplyTimeoutError,
  UnknownPeerError,
  type WeftError,
} from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import { newId } from "../core/ids.ts";
import { DEFAULT_CHUNK_BYTES, prepareChunks, Reassembler, type ChunkedMessage } from "./chunking.ts";
import {
  AgentStore,
  NodeActiveStatus,
  type AgentOptions,
  type NodeAgent,
  type QueuedTask,
} from "./node-agent.ts";
import {
  researcherService,
  type ChunkFrame,
  type FeedbackFrame,
  type NodeFrame,
  type OverlayFrame,
  type ResearcherFrame,
  type TaskRequestFrame,
} from "./protocol.ts";
import { ReplyRegistry, type ReplyCallback, type RequestRecord } from "./replies.ts";
import { NodeSessions } from "./node-sessions.ts";
import { peerIdentityError, serverCredentials, type ServerTlsOptions } from "./server-tls.ts";
import { deliverPolledTask } from "./task-delivery.ts";
import { retarget } from "./retarget.ts";

export type { ServerTlsOptions } from "./server-tls.ts";
export { retarget } from "./retarget.ts";

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
  private readonly sessions: NodeSessions;
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
    this.sessions = new NodeSessions({
      researcherId: this.researcherId,
      agents: this.agents,
      replies: this.replies,
      log: this.log,
      options,
      identityError: (call, nodeId) => peerIdentityError(this.tls, call, nodeId),
      onFeedback: (feedback, nodeId) => this.onFeedback(feedback, undefined, nodeId),
      onMessage: (nodeId, chunk, message) => this.onNodeMessage(nodeId, chunk, message),
    });
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
    const creds = serverCredentials(options.tls);
    const server = new grpc.Server({ "grpc.keepalive_permit_without_calls": 1 });
    server.addService(researcherService(), {
      Session: (call: grpc.ServerDuplexStream<NodeFrame, ResearcherFrame>) => this.sessions.open(call),
      GetTaskUnary: (call: grpc.ServerWritableStream<TaskRequestFrame, ChunkFrame>) =>
        void deliverPolledTask(call, this.agents, this.tls),
      ReplyTask: (
        call: grpc.ServerReadableStream<ChunkFrame, { messageIds: string[] }>,
        cb: grpc.sendUnaryData<{ messageIds: string[] }>,
      ) => this.onReplyTask(call, cb),
      Feedback: (
        call: grpc.ServerUnaryCall<FeedbackFrame, { messageIds: string[] }>,
        cb: grpc.sendUnaryData<{ messageIds: string[] }>,
      ) => {
        this.onFeedback(call.request, peerIdentityError(this.tls, call, call.request.nodeId));
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
    this.sessions.closeAll();
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

  private onNodeMessage(nodeId: string, chunk: ChunkFrame, message: Message): void {
    if (chunk.kind === "MESSAGE") this.emit({ kind: "message", nodeId, message });
    else {
      // A reply also acknowledges its task: the node skips the separate Ack when it answers quickly.
      if (chunk.requestId !== undefined) this.agents.get(nodeId)?.inFlight.delete(chunk.requestId);
      this.replies.resolve(nodeId, chunk.requestId, message);
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
        const identityError = peerIdentityError(this.tls, call, c.nodeId);
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
