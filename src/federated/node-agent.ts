/**
 * NodeAgent and AgentStore: the researcher's view of each node, its status and its queue of tasks.
 * @module
 */
import {
  MessageExpiredError,
  NodeDisconnectedError,
  DriverSendError,
  type WeftError,
} from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import type { ChunkedMessage } from "./chunking.ts";

/**
 * Status of a node as the researcher sees it.
 * @example
 * ```ts
 * server.onNodeStatus((nodeId, status) => {
 *   if (status === NodeActiveStatus.DISCONNECTED) log.warn(`node ${nodeId} is gone`);
 * });
 * ```
 */
export const NodeActiveStatus = {
  /** The node has a stream open (or was just registered). */
  ACTIVE: "ACTIVE",
  /** The node's stream ended; it has `nodeDisconnectionTimeoutMs` to open a new one. */
  WAITING: "WAITING",
  /** The node did not come back in time. */
  DISCONNECTED: "DISCONNECTED",
} as const;
/** One of {@link NodeActiveStatus}. */
export type NodeActiveStatus = (typeof NodeActiveStatus)[keyof typeof NodeActiveStatus];

/**
 * A task waiting in a node's queue.
 * @example
 * ```ts
 * const task: QueuedTask = {
 *   requestId: message.messageId,
 *   prepared: prepareChunks(message),
 *   enqueuedAt: Date.now(),
 *   retries: 0,
 *   fail: (err) => log.error(err.message),
 * };
 * store.retrieve("n1").enqueue(task);
 * ```
 */
export interface QueuedTask {
  requestId: string;
  prepared: ChunkedMessage;
  enqueuedAt: number;
  retries: number;
  /** Called when the task cannot be delivered. */
  fail: (err: WeftError) => void;
}

/**
 * Timing and queueing options of agents.
 * @example
 * ```ts
 * const options: AgentOptions = { nodeDisconnectionTimeoutMs: 5000, queueWhileDisconnected: true };
 * const store = new AgentStore(options);
 * ```
 */
export interface AgentOptions {
  /** Time a WAITING node has to reconnect before it is DISCONNECTED. Default 10 000. */
  nodeDisconnectionTimeoutMs?: number;
  /** Tasks queued longer than this are dropped with a {@link MessageExpiredError}. Default 300 000. */
  maxSendDurationMs?: number;
  /** Times a task interrupted mid-delivery is re-queued. Default 5. */
  maxSendRetries?: number;
  /** Queue tasks for DISCONNECTED nodes instead of rejecting them. Default false. */
  queueWhileDisconnected?: boolean;
}

/**
 * One node: its status, its queue, and the tasks on their way to it.
 * @example
 * ```ts
 * const agent = store.retrieve("n1");
 * agent.status; // "ACTIVE"
 * ```
 */
export class NodeAgent {
  status: NodeActiveStatus = NodeActiveStatus.ACTIVE;
  /** X25519 public key the node published, if any. */
  publicKey: Uint8Array | undefined;
  /** Tasks not yet handed to a stream. */
  readonly queue: QueuedTask[] = [];
  /** Tasks written to a stream and not yet acknowledged. */
  readonly inFlight = new Map<string, QueuedTask>();
  private timer: NodeJS.Timeout | undefined;
  /** Pumps waiting for a task, by the signal that ends each. */
  private readonly waiters = new Map<AbortSignal, () => void>();
  private streams = 0;
  private lastExpire = 0;
  private readonly watched = new WeakSet<AbortSignal>();

  constructor(
    readonly id: string,
    private readonly options: Required<AgentOptions>,
    private readonly log: LoggerLike,
    private readonly onStatus: (agent: NodeAgent, previous: NodeActiveStatus) => void,
  ) {}

  /** True while a stream is attached. */
  get connected(): boolean {
    return this.streams > 0;
  }

  /** A stream opened: ACTIVE, cancel the disconnection timer. */
  attach(): void {
    this.streams++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.status !== NodeActiveStatus.ACTIVE) {
      this.log.info(`node ${this.id} is back (was ${this.status})`);
      this.setStatus(NodeActiveStatus.ACTIVE);
    }
    this.expire();
  }

  /** The stream ended: re-queue what was in flight, go WAITING and start the timer. */
  detach(): void {
    this.streams = Math.max(0, this.streams - 1);
    const interrupted = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const task of interrupted.reverse()) {
      task.retries++;
      if (task.retries > this.options.maxSendRetries) {
        task.fail(
          new DriverSendError(
            `task ${task.requestId} to node ${this.id} was interrupted ${task.retries} times; giving up (raise maxSendRetries or check the node's connection)`,
          ),
        );
      } else this.queue.unshift(task);
    }
    if (this.streams > 0 || this.status === NodeActiveStatus.DISCONNECTED) return;
    this.setStatus(NodeActiveStatus.WAITING);
    this.timer = setTimeout(() => this.disconnect(), this.options.nodeDisconnectionTimeoutMs);
    this.timer.unref();
  }

  /** Adds a task, or rejects it if the node is DISCONNECTED (unless queueWhileDisconnected). */
  enqueue(task: QueuedTask): void {
    if (this.status === NodeActiveStatus.DISCONNECTED && !this.options.queueWhileDisconnected) {
      throw new NodeDisconnectedError(
        `node "${this.id}" is DISCONNECTED; wait for it to reconnect (see onNodeStatus) or enable queueWhileDisconnected`,
      );
    }
    this.queue.push(task);
    this.wakeAll();
  }

  /**
   * The next task if one is queued, else undefined, without waiting. Expired tasks are dropped first
   * (the whole queue is scanned at most every 100 ms: the pump calls this once per task).
   */
  poll(now = Date.now()): QueuedTask | undefined {
    if (now - this.lastExpire >= 100) this.expire(now);
    return this.queue.shift();
  }

  /** Next task to deliver, waiting until one is queued or `signal` aborts. */
  async next(signal: AbortSignal): Promise<QueuedTask | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      this.expire();
      const task = this.queue.shift();
      if (task !== undefined) return task;
      // One abort listener per signal, not one per wait: the pump waits here after almost every task
      // when the node keeps up.
      if (!this.watched.has(signal)) {
        this.watched.add(signal);
        signal.addEventListener("abort", () => this.waiters.get(signal)?.(), { once: true });
      }
      await new Promise<void>((resolve) => this.waiters.set(signal, resolve));
      this.waiters.delete(signal);
    }
  }

  /** Drops queued tasks older than maxSendDurationMs, telling their callers. */
  expire(now = Date.now()): void {
    this.lastExpire = now;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const task = this.queue[i] as QueuedTask;
      if (now - task.enqueuedAt > this.options.maxSendDurationMs) {
        this.queue.splice(i, 1);
        task.fail(
          new MessageExpiredError(
            `task ${task.requestId} to node ${this.id} waited ${now - task.enqueuedAt} ms, over maxSendDurationMs ${this.options.maxSendDurationMs}; the node did not reconnect in time`,
          ),
        );
      }
    }
  }

  /** Stops the timer (server shutdown). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAll();
  }

  private wakeAll(): void {
    if (this.waiters.size === 0) return;
    for (const resolve of this.waiters.values()) resolve();
    this.waiters.clear();
  }

  private disconnect(): void {
    this.timer = undefined;
    this.log.warn(
      `node ${this.id} did not reconnect within ${this.options.nodeDisconnectionTimeoutMs} ms: DISCONNECTED`,
    );
    this.setStatus(NodeActiveStatus.DISCONNECTED);
    if (!this.options.queueWhileDisconnected) {
      const dropped = this.queue.splice(0);
      for (const task of dropped) {
        task.fail(
          new NodeDisconnectedError(
            `node "${this.id}" disconnected before task ${task.requestId} was delivered`,
          ),
        );
      }
    }
  }

  private setStatus(status: NodeActiveStatus): void {
    const previous = this.status;
    if (previous === status) return;
    this.status = status;
    this.onStatus(this, previous);
  }
}

/**
 * Default agent options.
 * @example
 * ```ts
 * const store = new AgentStore({ ...DEFAULT_AGENT_OPTIONS, maxSendRetries: 2 });
 * ```
 */
export const DEFAULT_AGENT_OPTIONS: Required<AgentOptions> = {
  nodeDisconnectionTimeoutMs: 10_000,
  maxSendDurationMs: 300_000,
  maxSendRetries: 5,
  queueWhileDisconnected: false,
};

/**
 * All agents of a researcher.
 * @example
 * ```ts
 * const store = new AgentStore({ nodeDisconnectionTimeoutMs: 5000 });
 * const a = store.retrieve("n1"); store.retrieve("n1") === a; // true
 * ```
 */
export class AgentStore {
  private readonly agents = new Map<string, NodeAgent>();
  private readonly options: Required<AgentOptions>;

  constructor(
    options: AgentOptions = {},
    private readonly log: LoggerLike = {
      debug() {},
      info() {},
      warn() {},
      error() {},
      critical() {},
      process() {},
    },
    private readonly onStatus: (agent: NodeAgent, previous: NodeActiveStatus) => void = () => {},
  ) {
    this.options = { ...DEFAULT_AGENT_OPTIONS, ...stripUndefined(options) };
  }

  /** The agent of `nodeId`, created (ACTIVE) if it does not exist. */
  retrieve(nodeId: string): NodeAgent {
    let agent = this.agents.get(nodeId);
    if (agent === undefined) {
      agent = new NodeAgent(nodeId, this.options, this.log, this.onStatus);
      this.agents.set(nodeId, agent);
    }
    return agent;
  }

  /** The agent of `nodeId`, or undefined. */
  get(nodeId: string): NodeAgent | undefined {
    return this.agents.get(nodeId);
  }

  /** A copy of the agents by node id. */
  getAll(): Map<string, NodeAgent> {
    return new Map(this.agents);
  }

  /** Stops every timer. */
  dispose(): void {
    for (const a of this.agents.values()) a.dispose();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
