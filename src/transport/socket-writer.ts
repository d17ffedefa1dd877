/**
 * The one writer of a ZeroMQ socket. zeromq.js allows a single pending `send()` per socket (a second one
 * fails with EBUSY), so every send to a socket goes through its `SocketWriter` queue.
 * @module
 */
import type { Writable } from "zeromq";
import { ClosedError, DriverSendError } from "../core/errors.ts";

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
}

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

  constructor(
    private readonly socket: Writable & { closed: boolean },
    options: SocketWriterOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 1024;
    this.label = options.label ?? "socket";
  }

  /** Messages waiting to be handed to the socket. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues `frames` and resolves once ZeroMQ has accepted them. Rejects with {@link DriverSendError} when
   * the socket's send timeout passes, and with {@link ClosedError} after `close()`.
   */
  async send(frames: Frames): Promise<void> {
    if (this.closed) throw new ClosedError(`cannot send to ${this.label}: the socket is closed`);
    while (this.pending >= this.maxQueue) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      if (this.closed) throw new ClosedError(`cannot send to ${this.label}: the socket is closed`);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, resolve, reject });
      if (!this.sending) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.sending = true;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as Pending;
      this.queue[this.head] = undefined as unknown as Pending;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.roomWaiters.shift()?.();
      if (this.closed) {
        item.reject(new ClosedError(`cannot send to ${this.label}: the socket is closed`));
        continue;
      }
      try {
        await this.socket.send(item.frames as (Uint8Array | string)[]);
        item.resolve();
      } catch (err) {
        item.reject(
          this.closed || this.socket.closed
            ? new ClosedError(`cannot send to ${this.label}: the socket is closed`, { cause: err })
            : new DriverSendError(`send to ${this.label} failed: ${(err as Error).message}`, { cause: err }),
        );
      }
    }
    this.queue.length = 0;
    this.head = 0;
    this.sending = false;
  }

  /** Rejects everything still queued and refuses new sends. Does not close the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = this.head; i < this.queue.length; i++) {
      this.queue[i]?.reject(new ClosedError(`cannot send to ${this.label}: the socket is closed`));
    }
    this.queue.length = 0;
    this.head = 0;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
