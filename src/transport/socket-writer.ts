/**
 * The one writer of a ZeroMQ socket. zeromq.js allows a single pending `send()` per socket (a second one
 * fails with EBUSY), so every send to a socket goes through its `SocketWriter` queue.
 * @module
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Writable } from "zeromq";
import { ClosedError, DriverSendError } from "../core/errors.ts";
import { TurnBudget } from "./turn-budget.ts";

/**
 * Frames accepted by a ZeroMQ send.
 * @example
 * ```ts
 * const frames: Frames = ["hello", new Uint8Array([1, 2, 3])];
 * await writer.send(frames);
 * ```
 */
export type Frames = readonly (Uint8Array | string)[];

interface Pending {
  frames: Frames;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Options of {@link SocketWriter}.
 * @example
 * ```ts
 * const options: SocketWriterOptions = { maxQueue: 256, label: "worker.0" };
 * const writer = new SocketWriter(push, options);
 * ```
 */
export interface SocketWriterOptions {
  /** Messages queued before `send()` callers wait for room (backpressure). Default 1024. */
  maxQueue?: number;
  /** Label used in error messages, e.g. the peer name. */
  label?: string;
  /**
   * Sends messages that are waiting in the queue together, as one multipart ZeroMQ message (their frames
   * back to back), up to `maxMessages` messages and `maxBytes` bytes; a message alone over `maxBytes`
   * still goes out alone. Off by default: only a receiver that splits such messages again (the proxy's,
   * see docs/wire-protocol.md) may be sent to this way. A message is never held back to wait for others:
   * batches form only from what queued up while the previous send was in progress.
   */
  coalesce?: { maxMessages: number; maxBytes: number };
  /**
   * Hand each message to ZeroMQ without first asking whether its queue has room, and wait for room, up
   * to this many ms, only when a send finds the queue full (the writer sets the socket's send timeout to
   * 0 and applies this one itself). Saves a system call on every send: zeromq.js checks the socket's
   * events before each send that may wait, and that check costs about as much as the send itself
   * (measured: 1.7 → 0.9 µs of the sending thread per small message). Without it (the default) the
   * socket's own `sendTimeout` applies.
   */
  waitForRoomMs?: number;
}

/** Sends handed straight to ZeroMQ in a row before one waits for the next turn of the event loop. */
const SENDS_PER_TURN = 256;

/**
 * Serializes all sends to one socket.
 *
 * @example
 * ```ts
 * const writer = new SocketWriter(push, { label: "worker.0" });
 * await writer.send([header, body]);
 * ```
 */
export class SocketWriter {
  private readonly queue: Pending[] = [];
  private head = 0;
  private sending = false;
  private closed = false;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly maxQueue: number;
  private readonly label: string;
  private readonly coalesce: { maxMessages: number; maxBytes: number } | undefined;
  private readonly waitForRoomMs: number | undefined;
  /** The frames of the send in progress on the idle path (to retry it if the queue was full). */
  private aloneFrames: Frames = [];
  private readonly turns = new TurnBudget(SENDS_PER_TURN);

  constructor(
    private readonly socket: Writable & { closed: boolean },
    options: SocketWriterOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 1024;
    this.label = options.label ?? "socket";
    this.coalesce = options.coalesce;
    this.waitForRoomMs = options.waitForRoomMs;
    if (this.waitForRoomMs !== undefined) socket.sendTimeout = 0;
  }

  /** Messages waiting to be handed to the socket. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues `frames` and resolves once ZeroMQ has accepted them. Rejects with {@link DriverSendError} when
   * the socket's send timeout passes, and with {@link ClosedError} after `close()`.
   */
  send(frames: Frames): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    // Idle socket: hand the message straight to ZeroMQ, without a queue entry or the pump's loop (the
    // common case of one message at a time).
    if (!this.sending) {
      this.sending = true;
      this.aloneFrames = frames;
      if (this.turnDue()) {
        return nextTurn().then(this.sendAloneNow).then(this.sentAlone, this.failedAlone);
      }
      return this.sendAloneNow().then(this.sentAlone, this.failedAlone);
    }
    if (this.pending >= this.maxQueue) return this.sendWhenRoom(frames);
    // A send is in progress: queue (it ends by pumping the queue).
    return new Promise<void>((resolve, reject) => this.queue.push({ frames, resolve, reject }));
  }

  /** {@link send} once the queue has room (backpressure). */
  private async sendWhenRoom(frames: Frames): Promise<void> {
    while (this.pending >= this.maxQueue) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      if (this.closed) throw this.closedError();
    }
    return this.send(frames);
  }

  /**
   * Whether this send should first wait for the next turn of the event loop. Sends that never wait for
   * room never yield to it either (zeromq.js defers one in 512 only when it checks for room): timers and
   * reads must still run now and then during a long run of sends.
   */
  private turnDue(): boolean {
    return this.waitForRoomMs !== undefined && this.turns.spend();
  }

  /** Hands the idle path's message to ZeroMQ. */
  private readonly sendAloneNow = (): Promise<void> => {
    try {
      return this.socket.send(this.aloneFrames as (Uint8Array | string)[]);
    } catch (err) {
      return Promise.reject(err as Error); // a synchronous throw must not leave the writer marked busy
    }
  };

  /** After a message sent by the idle path: send what queued up meanwhile. */
  private readonly sentAlone = (): void => {
    this.aloneFrames = [];
    this.afterSend();
  };

  private readonly failedAlone = (err: unknown): Promise<void> => {
    if (this.queueWasFull(err)) {
      return this.sendWaitingForRoom(this.aloneFrames).then(this.sentAlone, this.failedAfterWait);
    }
    return this.failedAfterWait(err);
  };

  private readonly failedAfterWait = (err: unknown): never => {
    this.aloneFrames = [];
    this.afterSend();
    throw this.failure(err);
  };

  /** A send that did not wait failed because ZeroMQ's queue was full (it may wait, with waitForRoomMs). */
  private queueWasFull(err: unknown): boolean {
    return (
      this.waitForRoomMs !== undefined &&
      !this.closed &&
      !this.socket.closed &&
      (err as { code?: unknown }).code === "EAGAIN"
    );
  }

  /** Sends `frames`, waiting up to waitForRoomMs for room in ZeroMQ's queue. */
  private async sendWaitingForRoom(frames: Frames): Promise<void> {
    this.socket.sendTimeout = this.waitForRoomMs as number;
    try {
      await this.socket.send(frames as (Uint8Array | string)[]);
    } finally {
      if (!this.socket.closed) this.socket.sendTimeout = 0;
    }
  }

  /** Sends `frames`, and with waitForRoomMs waits for room only if the queue is full. */
  private async sendQueued(frames: Frames): Promise<void> {
    if (this.turnDue()) await nextTurn();
    try {
      await this.socket.send(frames as (Uint8Array | string)[]);
    } catch (err) {
      if (!this.queueWasFull(err)) throw err;
      await this.sendWaitingForRoom(frames);
    }
  }

  /** A send settled: go on with the queue (which, once closed, rejects it in order). */
  private afterSend(): void {
    this.sending = false;
    if (this.pending > 0) void this.pump();
    else if (this.closed) this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** The error of a failed ZeroMQ send. */
  private failure(err: unknown): Error {
    return this.closed || this.socket.closed
      ? this.closedError(err)
      : new DriverSendError(`send to ${this.label} failed: ${(err as Error).message}`, { cause: err });
  }

  private closedError(cause?: unknown): ClosedError {
    const message = `cannot send to ${this.label}: the socket is closed`;
    return cause === undefined ? new ClosedError(message) : new ClosedError(message, { cause });
  }

  /** The next queued item, or undefined; wakes one sender waiting for room. */
  private take(): Pending | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head] as Pending;
    this.queue[this.head] = undefined as unknown as Pending;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.roomWaiters.shift()?.();
    return item;
  }

  /** Takes the items to send next: one, or with `coalesce` as many queued ones as the limits allow. */
  private takeBatch(first: Pending): Pending[] {
    const batch = [first];
    const limits = this.coalesce;
    if (limits === undefined) return batch;
    let bytes = byteLength(first.frames);
    while (this.head < this.queue.length && batch.length < limits.maxMessages) {
      const next = this.queue[this.head] as Pending;
      const size = byteLength(next.frames);
      if (bytes + size > limits.maxBytes) break;
      bytes += size;
      batch.push(this.take() as Pending);
    }
    return batch;
  }

  private async pump(): Promise<void> {
    this.sending = true;
    for (let first = this.take(); first !== undefined; first = this.take()) {
      const batch = this.takeBatch(first);
      if (this.closed) {
        for (const item of batch) item.reject(this.closedError());
        continue;
      }
      const frames = batch.length === 1 ? first.frames : batch.flatMap((item) => item.frames);
      try {
        await this.sendQueued(frames);
        for (const item of batch) item.resolve();
      } catch (err) {
        const failure = this.failure(err);
        for (const item of batch) item.reject(failure);
      }
    }
    this.queue.length = 0;
    this.head = 0;
    this.sending = false;
    if (this.closed) this.wakeRoomWaiters();
  }

  /**
   * Refuses new sends and rejects everything still queued with {@link ClosedError}. Does not close the
   * socket. With a send in progress, the queue is rejected once that send settles, in order: a caller
   * that falls back on failure (the proxy caches messages for a peer that died) then sees the messages in
   * the order they were sent. Closing the socket right after makes that send settle at once.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sending) return;
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]?.reject(this.closedError());
    this.queue.length = 0;
    this.head = 0;
    this.wakeRoomWaiters();
  }
}

function byteLength(frames: Frames): number {
  let total = 0;
  for (const f of frames) total += typeof f === "string" ? f.length * 3 : f.byteLength;
  return total;
}
