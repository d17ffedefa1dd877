/**
 * A node's connection to one researcher: the long-lived Session stream (or the long polls of "poll"
 * mode), reconnection with backoff, running the tasks that arrive and sending their replies.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import {
  AuthenticationError,
  ClosedError,
  ResearcherUnavailableError,
  type WeftError,
} from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import { Message } from "../core/message.ts";
import { DEFAULT_CHUNK_BYTES, prepareChunks, Reassembler, singleChunkParts } from "./chunking.ts";
import {
  PROTOCOL_VERSION,
  type ChunkFrame,
  type NodeFrame,
  type OverlayFrame,
  type ResearcherFrame,
} from "./protocol.ts";
import { OverlayAssembler } from "./overlay-chunks.ts";
import { waitDrain } from "./drain.ts";
import type { NodeClient, ResearcherAddress } from "./client.ts";
import { grpcToWeft, researcherClient } from "./researcher-channel.ts";
import { writeChunks } from "./write-chunks.ts";

type Duplex = grpc.ClientDuplexStream<NodeFrame, ResearcherFrame>;

/**
 * A node's connection to one researcher: it keeps the Session stream open (or long-polls in "poll"
 * mode), reconnects with backoff, runs the tasks that come and sends their replies, resending the
 * replies not acknowledged yet when a new stream opens.
 * @example
 * ```ts
 * const connection = new ResearcherConnection(node, { host: "localhost", port: 50051 }, log);
 * connection.open();
 * await connection.waitConnected(10_000);
 * ```
 * @internal
 */
export class ResearcherConnection {
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
    this.client = researcherClient(address, node.options.flowControlWindowBytes);
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

/** The data of a single chunk, whose bytes travel in `parts` instead. */
const EMPTY = new Uint8Array(0);

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}
