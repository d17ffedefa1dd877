/**
 * Reply bookkeeping: which requests wait for a reply, and what happens to late, duplicate, unknown and
 * stopped replies. Entries are dropped one to two `graceMs` after they settle, so the table stays bounded.
 * @module
 */
import type { WeftError } from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import type { Message } from "../core/message.ts";

/**
 * Called once with the reply, or with the error that means no reply will come.
 * @example
 * ```ts
 * const onReply: ReplyCallback = (error, reply, nodeId) => {
 *   if (error) log.warn(`no reply from ${nodeId}: ${error.code}`);
 *   else log.info(`reply from ${nodeId}: ${reply?.tag}`);
 * };
 * server.send(task, "n1", onReply);
 * ```
 */
export type ReplyCallback = (
  error: WeftError | undefined,
  reply: Message | undefined,
  nodeId: string,
) => void;

/**
 * State of one request.
 * @example
 * ```ts
 * const record: Readonly<RequestRecord> | undefined = server.getRequest(requestId);
 * if (record?.state === "replied") log.info(`reply ${record.replyMessageId} from ${record.nodeId}`);
 * ```
 */
export interface RequestRecord {
  requestId: string;
  nodeId: string;
  state: "pending" | "replied" | "flushed" | "stopped" | "failed";
  /** The reply, once one arrived (also for a request flushed as stopped). */
  reply?: Message;
  settledAt?: number;
  warnedDuplicate: boolean;
  replyMessageId?: string;
  callback?: ReplyCallback | undefined;
}

/**
 * The table of requests of one researcher.
 * @example
 * ```ts
 * const replies = new ReplyRegistry(logger);
 * replies.register("req-1", "n1", (err, reply) => console.log(reply?.payload));
 * replies.resolve("n1", "req-1", reply);
 * ```
 */
export class ReplyRegistry {
  /** Requests still waiting: few (the ones in flight), so the lookups of every task stay cheap. */
  private readonly waiting = new Map<string, RequestRecord>();
  /**
   * Settled requests in two generations: `recent` takes what settles now, and every `graceMs` the
   * older generation is dropped whole. A record is so kept between one and two grace periods, and
   * forgetting costs nothing per record (no scan of a table that holds a minute of traffic).
   */
  private recent = new Map<string, RequestRecord>();
  private older = new Map<string, RequestRecord>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly generationSize: number;

  /**
   * @param graceMs settled records are kept between one and two grace periods…
   * @param maxSettled …and at most this many of them (the older generation is dropped early when the
   *   recent one holds half): at thousands of tasks a second a minute of replies would otherwise be
   *   millions of records and their messages. Default 100 000.
   */
  constructor(
    private readonly log: LoggerLike,
    private readonly graceMs = 60_000,
    maxSettled = 100_000,
  ) {
    this.generationSize = Math.max(1, Math.floor(maxSettled / 2));
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, graceMs));
    this.sweeper.unref();
  }

  /** Number of records kept. */
  get size(): number {
    return this.waiting.size + this.recent.size + this.older.size;
  }

  /** Starts tracking a request. */
  register(requestId: string, nodeId: string, callback?: ReplyCallback): void {
    // A settled record of the same id needs no removal: lookups ask `waiting` first, and settling
    // this one overwrites it in `recent`, which is asked before `older`.
    this.waiting.set(requestId, { requestId, nodeId, state: "pending", warnedDuplicate: false, callback });
  }

  /** True when `requestId` is tracked. */
  has(requestId: string): boolean {
    return this.waiting.has(requestId) || this.recent.has(requestId) || this.older.has(requestId);
  }

  /** The record of a request, while it is kept. */
  get(requestId: string): Readonly<RequestRecord> | undefined {
    return this.find(requestId);
  }

  /** True while `requestId` waits for its reply (the cheap check of every task). */
  isPending(requestId: string): boolean {
    return this.waiting.has(requestId);
  }

  /** Handles a reply; returns true when it was the first reply to a pending request. */
  resolve(nodeId: string, requestId: string | undefined, reply: Message): boolean {
    if (requestId === undefined || requestId === "") {
      this.log.warn(`reply ${reply.messageId} from node ${nodeId} has no request id; ignored`);
      return false;
    }
    const r = this.find(requestId);
    if (r === undefined) {
      this.log.warn(`reply from node ${nodeId} to unknown request ${requestId}; ignored`);
      return false;
    }
    if (r.replyMessageId === reply.messageId) return false; // the same reply resent after a reconnect
    switch (r.state) {
      case "pending":
        r.state = "replied";
        r.reply = reply;
        r.replyMessageId = reply.messageId;
        this.settle(r, undefined, reply);
        return true;
      case "replied":
        if (!r.warnedDuplicate)
          this.log.warn(`duplicate reply from node ${nodeId} to request ${requestId}; first reply kept`);
        r.warnedDuplicate = true;
        return false;
      case "stopped":
        r.reply = reply;
        r.replyMessageId = reply.messageId;
        this.log.info(`reply from node ${nodeId} to stopped request ${requestId} recorded`);
        return false;
      default:
        this.log.warn(
          `reply from node ${nodeId} to request ${requestId} arrived after it was ${r.state}; ignored`,
        );
        return false;
    }
  }

  /** Stops waiting for a request; a later reply is ignored (or recorded when `stopped`). */
  flush(requestId: string, stopped = false): void {
    const r = this.find(requestId);
    if (r === undefined) return;
    r.state = stopped ? "stopped" : "flushed";
    r.callback = undefined;
    r.settledAt = Date.now();
    this.retire(r);
  }

  /** Fails a pending request (undeliverable, node gone, server stopping). */
  fail(requestId: string, error: WeftError): void {
    const r = this.waiting.get(requestId);
    if (r === undefined) return;
    r.state = "failed";
    this.settle(r, error, undefined);
  }

  /** Pending request ids of a node. */
  pendingOf(nodeId: string): string[] {
    return [...this.waiting.values()].filter((r) => r.nodeId === nodeId).map((r) => r.requestId);
  }

  /** Every pending request id. */
  pending(): string[] {
    return [...this.waiting.keys()];
  }

  /** Stops the sweeper. */
  dispose(): void {
    clearInterval(this.sweeper);
  }

  private find(requestId: string): RequestRecord | undefined {
    return this.waiting.get(requestId) ?? this.recent.get(requestId) ?? this.older.get(requestId);
  }

  /** Moves a record that no longer waits to the settled generations. */
  private retire(r: RequestRecord): void {
    if (!this.waiting.delete(r.requestId)) return;
    this.recent.set(r.requestId, r);
    if (this.recent.size >= this.generationSize) this.sweep();
  }

  private settle(r: RequestRecord, error: WeftError | undefined, reply: Message | undefined): void {
    r.settledAt = Date.now();
    this.retire(r);
    const cb = r.callback;
    r.callback = undefined;
    if (cb === undefined) return;
    try {
      cb(error, reply, r.nodeId);
    } catch (err) {
      this.log.error(`onReply callback for request ${r.requestId} threw: ${(err as Error).message}`);
    }
  }

  private sweep(): void {
    this.older = this.recent;
    this.recent = new Map();
  }
}
