/**
 * Waits for the replies of one call (send, scatter, broadcast, receiveById) under one deadline.
 * @module
 */
import { PeersDisconnectionError, ReplyTimeoutError } from "../core/errors.ts";
import type { Message } from "../core/message.ts";

/**
 * One reply a call expects: a session id, and the peer it must come from when known.
 * @example
 * ```ts
 * const expected: Expectation[] = [{ sessionId, source: "worker.0" }, { sessionId: otherSessionId }];
 * const waiter = new ReplyWaiter(expected, 5000, () => {});
 * ```
 */
export interface Expectation {
  sessionId: string;
  source?: string;
}

/**
 * Collects replies in arrival order. Resolves when every expectation is met; rejects with
 * {@link ReplyTimeoutError} at the deadline or {@link PeersDisconnectionError} when an awaited peer dies
 * (both carry the replies that did arrive in `partial`).
 *
 * @example
 * ```ts
 * const waiter = new ReplyWaiter([{ sessionId, source: "worker.0" }], 5000, (w) => waiters.delete(w));
 * waiter.offer(reply); // true when the reply belonged to this call
 * const replies = await waiter.done;
 * ```
 */
export class ReplyWaiter {
  readonly done: Promise<Message[]>;
  /** The distinct session ids of the expectations this waiter was made with. */
  readonly awaitedIds: readonly string[];
  private readonly open: Expectation[];
  private readonly replies: Message[] = [];
  private resolve!: (m: Message[]) => void;
  private reject!: (e: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  settled = false;

  constructor(
    expectations: readonly Expectation[],
    timeoutMs: number | undefined,
    private readonly onSettle: (w: ReplyWaiter) => void,
  ) {
    this.open = expectations.slice();
    this.awaitedIds = distinctSessionIds(expectations);
    this.done = new Promise<Message[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => {
        const missing = this.open.map((e) => e.source ?? e.sessionId).join(", ");
        this.fail(
          new ReplyTimeoutError(
            `timed out after ${timeoutMs} ms: ${this.replies.length} of ${this.replies.length + this.open.length} replies arrived (missing: ${missing})`,
            { partial: [...this.replies] },
          ),
        );
      }, timeoutMs);
    }
    if (this.open.length === 0) this.finish();
  }

  /** Session ids this waiter still waits for. */
  sessionIds(): string[] {
    return distinctSessionIds(this.open);
  }

  /** Peers this waiter still waits for. */
  sources(): string[] {
    const out: string[] = [];
    for (const e of this.open) if (e.source !== undefined) out.push(e.source);
    return out;
  }

  /** Takes `message` if it is one of the awaited replies. */
  offer(message: Message): boolean {
    if (this.settled) return false;
    // An expectation naming the reply's source first, else one that names no source. (Plain loops: this
    // runs for every reply, and callbacks would be made per call.)
    const open = this.open;
    const { sessionId, source } = message;
    let index = -1;
    for (let i = 0; i < open.length; i++) {
      const e = open[i] as Expectation;
      if (e.sessionId !== sessionId) continue;
      if (e.source === source) {
        index = i;
        break;
      }
      if (index === -1 && e.source === undefined) index = i;
    }
    if (index === -1) return false;
    if (open.length === 1) open.length = 0;
    else open.splice(index, 1);
    this.replies.push(message);
    if (this.open.length === 0) this.finish();
    return true;
  }

  /** Stops waiting for `peer`: drops its expectations (rejoin mode) or fails the call. */
  peerGone(peer: string, drop: boolean): void {
    if (this.settled || !this.open.some((e) => e.source === peer)) return;
    if (drop) {
      for (let i = this.open.length - 1; i >= 0; i--)
        if (this.open[i]?.source === peer) this.open.splice(i, 1);
      if (this.open.length === 0) this.finish();
      return;
    }
    const err = new PeersDisconnectionError(
      `peer ${peer} disconnected while ${this.open.length} replies were awaited; ${this.replies.length} arrived`,
    );
    (err as PeersDisconnectionError & { partial: Message[] }).partial = [...this.replies];
    this.fail(err);
  }

  /** Fails the call with `err`. */
  fail(err: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reject(err);
  }

  private finish(): void {
    if (this.settled) return;
    this.settle();
    this.resolve(this.replies);
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.onSettle(this);
  }
}

/** The distinct session ids of `expectations`, in order. */
function distinctSessionIds(expectations: readonly Expectation[]): string[] {
  if (expectations.length === 1) return [(expectations[0] as Expectation).sessionId];
  if (expectations.length > 16) return [...new Set(expectations.map((e) => e.sessionId))];
  const ids: string[] = [];
  for (const e of expectations) if (!ids.includes(e.sessionId)) ids.push(e.sessionId);
  return ids;
}
