/**
 * Commands the ZMQRunner's caller sends to its node processes that wait for an answer: status requests
 * (one answer per node) and enable / disable toggles (acknowledged by their node). Answers come back on
 * the control socket, matched to their request by number.
 * @module
 */
import type { ControlMessage, NodeStatus } from "./protocol.ts";

/**
 * Status requests in flight, each collecting one answer per node.
 * @example
 * ```ts
 * const statuses = new StatusRequests(["a", "b"]);
 * const all = await statuses.ask(
 *   (request) => channel.send([encodeCommand(CONTROL_TOPIC, { kind: "status", request })]),
 *   5000,
 *   () => new TimeoutError("node status not answered"),
 * );
 * // on the control socket: statuses.answer(message);
 * ```
 */
export class StatusRequests {
  private readonly waiting = new Map<
    number,
    { want: number; got: NodeStatus[]; resolve: (s: NodeStatus[]) => void }
  >();
  private last = 0;

  /** `nodeIds`: the nodes that answer, in the order answers are returned. */
  constructor(private readonly nodeIds: readonly string[]) {}

  /**
   * Sends a new request with `send` and resolves to every node's answer, in node order; rejects with
   * `timeoutError()` when they do not all come within `timeoutMs`.
   */
  async ask(
    send: (request: number) => Promise<void>,
    timeoutMs: number,
    timeoutError: () => Error,
  ): Promise<NodeStatus[]> {
    const request = ++this.last;
    let timer: NodeJS.Timeout | undefined;
    const got = new Promise<NodeStatus[]>((resolve) =>
      this.waiting.set(request, { want: this.nodeIds.length, got: [], resolve }),
    );
    await send(request);
    try {
      return await Promise.race([
        got,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => {
            this.waiting.delete(request);
            rej(timeoutError());
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Takes one node's answer; its request resolves once every node has answered. */
  answer(m: Extract<ControlMessage, { kind: "status" }>): void {
    const w = this.waiting.get(m.request);
    if (w === undefined) return;
    const { kind: _k, request: _r, ...status } = m;
    w.got.push(status);
    if (w.got.length >= w.want) {
      this.waiting.delete(m.request);
      w.resolve(w.got.sort((a, b) => this.nodeIds.indexOf(a.nodeId) - this.nodeIds.indexOf(b.nodeId)));
    }
  }

  /** Resolves every request in flight with no answers (the runner is closing). */
  cancelAll(): void {
    for (const w of this.waiting.values()) w.resolve([]);
    this.waiting.clear();
  }
}

/**
 * enableNode / disableNode commands not yet acknowledged by their node. A node that only waits for its
 * upstream outputs gets no epoch command, so nothing orders the toggle before the epoch's data on the way
 * to it: the runner sends the next epoch only once every toggle is acknowledged.
 * @example
 * ```ts
 * const toggles = new ToggleAcks();
 * const request = toggles.open();
 * await channel.send([encodeCommand(CONTROL_TOPIC, { kind: "enable", nodeId: "a", enabled: false, request })]);
 * // on the control socket: toggles.settle(message.request);
 * if (toggles.size > 0) await toggles.allAcked();
 * ```
 */
export class ToggleAcks {
  private readonly pending = new Map<number, { acked: Promise<void>; resolve: () => void }>();
  private last = 0;

  /** Toggles not acknowledged yet. */
  get size(): number {
    return this.pending.size;
  }

  /** Numbers a new toggle, pending until settled. */
  open(): number {
    const request = ++this.last;
    let resolve!: () => void;
    const acked = new Promise<void>((r) => (resolve = r));
    this.pending.set(request, { acked, resolve });
    return request;
  }

  /** Ends toggle `request`: acknowledged, or never sent. */
  settle(request: number): void {
    this.pending.get(request)?.resolve();
    this.pending.delete(request);
  }

  /** Ends every pending toggle (the runner failed or is closing). */
  settleAll(): void {
    for (const t of this.pending.values()) t.resolve();
    this.pending.clear();
  }

  /** Resolves once every toggle pending now has been settled. */
  allAcked(): Promise<void[]> {
    return Promise.all([...this.pending.values()].map((t) => t.acked));
  }
}
