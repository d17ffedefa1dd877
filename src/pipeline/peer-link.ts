/**
 * One outgoing link of the router: a PUSH socket to a peer's PULL socket, its send queue and its state.
 *
 * This is the socket's one writer (zeromq.js allows one pending send per socket). Emitting never waits:
 * a record goes out at once when the socket is idle (no promise per event); while a send is pending,
 * later records wait in the queue and leave together as one batch when it completes.
 * @module
 */
import { Push } from "zeromq";
import { applyCurveClient, type CurveKeyPair } from "../transport/curve.ts";
import { encodeBatch, type OutRecord } from "./wire.ts";

/** State of a link: `connecting` until the first connection, `up`, `down` after a disconnect, `gone` once closed. */
export type LinkState = "connecting" | "up" | "down" | "gone";

/** Options of {@link PeerLink}. */
export interface PeerLinkOptions {
  /** Records kept while the peer is reachable; more are dropped and counted. Default 1 048 576. */
  maxQueued?: number;
  /** Records kept while the peer is disconnected (it may have exited); more are dropped. Default 10 000. */
  maxQueuedWhileDown?: number;
  /** ZMQ_SNDHWM of the socket, in messages (each a batch). Default 1000. */
  sendHighWaterMark?: number;
  /** ZMQ_LINGER on close, in ms. Default 1000. */
  lingerMs?: number;
  /** Called on every state change. */
  onState?: (link: PeerLink, state: LinkState) => void;
  /**
   * CURVE client keys (ZMQ_CURVE_PUBLICKEY / _SECRETKEY) and the peer's server key (ZMQ_CURVE_SERVERKEY),
   * for a tcp peer whose socket is a CURVE server. Default: plain.
   */
  curve?: CurveKeyPair & { serverPublicKey: string };
}

const MAX_BATCH_RECORDS = 8192;
const MAX_BATCH_TABLE_BYTES = 1 << 20;
const MAX_BATCH_ATTACHMENT_BYTES = 16 << 20;

/**
 * A link to one peer.
 * @example
 * ```ts
 * const link = new PeerLink("tcp://127.0.0.1:50516");
 * link.enqueue(makeRecord(RecordKind.EVENT, "task.x", body));
 * await link.flushed(1000);
 * link.close();
 * ```
 */
export class PeerLink {
  readonly endpoint: string;
  /** The peer's node id once its hello arrived. */
  nodeId: number | undefined;
  #socket: Push;
  #queue: OutRecord[] = [];
  #head = 0;
  #sending = false;
  #state: LinkState = "connecting";
  #dropped = 0;
  #maxQueued: number;
  #maxQueuedWhileDown: number;
  #onState: ((link: PeerLink, state: LinkState) => void) | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(endpoint: string, options: PeerLinkOptions = {}) {
    this.endpoint = endpoint;
    this.#maxQueued = options.maxQueued ?? 1 << 20;
    this.#maxQueuedWhileDown = options.maxQueuedWhileDown ?? 10_000;
    this.#onState = options.onState;
    this.#socket = new Push({
      linger: options.lingerMs ?? 1000,
      sendHighWaterMark: options.sendHighWaterMark ?? 1000,
    });
    if (options.curve !== undefined && endpoint.startsWith("tcp://"))
      applyCurveClient(this.#socket, options.curve, options.curve.serverPublicKey);
    this.#socket.events.on("connect", () => this.#setState("up"));
    this.#socket.events.on("disconnect", () => this.#setState("down"));
    this.#socket.connect(endpoint);
  }

  /** Current state. */
  get state(): LinkState {
    return this.#state;
  }

  /** Records waiting to be handed to ZeroMQ. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Records dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues `record` (sending it at once when idle). Returns false when it was dropped. */
  enqueue(record: OutRecord): boolean {
    if (this.#state === "gone") return false;
    const limit = this.#state === "down" ? this.#maxQueuedWhileDown : this.#maxQueued;
    if (this.queued >= limit) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(record);
    if (!this.#sending) this.#pump();
    return true;
  }

  /** Resolves once the queue is empty (true) or after `timeoutMs` (false). */
  flushed(timeoutMs: number): Promise<boolean> {
    if (this.queued === 0 && !this.#sending) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(wake);
    });
  }

  /** Closes the socket (ZeroMQ still flushes for up to the linger) and drops what is queued. */
  close(lingerMs?: number): void {
    if (this.#state === "gone") return;
    this.#setState("gone");
    this.#queue = [];
    this.#head = 0;
    if (lingerMs !== undefined) this.#socket.linger = lingerMs;
    this.#socket.close();
    this.#wakeIdle();
  }

  #pump(): void {
    const start = this.#head;
    const q = this.#queue;
    if (start >= q.length || this.#state === "gone") {
      this.#sending = false;
      this.#queue = [];
      this.#head = 0;
      this.#wakeIdle();
      return;
    }
    let end = start;
    let table = 0;
    let att = 0;
    while (end < q.length && end - start < MAX_BATCH_RECORDS) {
      const r = q[end] as OutRecord;
      if (
        end > start &&
        (table + r.tableBytes > MAX_BATCH_TABLE_BYTES || att + r.attachmentBytes > MAX_BATCH_ATTACHMENT_BYTES)
      )
        break;
      table += r.tableBytes;
      att += r.attachmentBytes;
      end++;
    }
    const frames = encodeBatch(q, start, end);
    for (let i = start; i < end; i++) q[i] = undefined as unknown as OutRecord;
    this.#head = end;
    if (end === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (end > 4096 && end * 2 > q.length) {
      this.#queue = q.slice(end);
      this.#head = 0;
    }
    this.#sending = true;
    this.#socket.send(frames).then(
      () => this.#pump(),
      () => {
        // Only a closed socket rejects here (no send timeout is set): nothing more can be sent.
        this.#sending = false;
        this.close(0);
      },
    );
  }

  #setState(state: LinkState): void {
    if (this.#state === state || this.#state === "gone") return;
    this.#state = state;
    this.#onState?.(this, state);
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
