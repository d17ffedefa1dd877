/**
 * `RegisterTable`: runs handlers when conditional events are satisfied by the messages pushed into it.
 *
 * The rules (source matching, amounts, AND/OR, FIFO consumption, at-most-once delivery, buffer caps)
 * are written out in `docs/conditional-events.md`.
 * @module
 */
import { ConditionalEventSyntaxError, ConfigError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import {
  parseConditionalEvent,
  requiredAmount,
  sourceSpecificity,
  type ConditionalEvent,
  type EventNode,
  type PeersName,
  type UnitEvent,
} from "./conditional-event.ts";

/**
 * A handler as {@link RegisterTable} stores it. The table never calls handlers itself — {@link RegisterTable.get}
 * hands them back with their messages — so any value works; this is the default shape.
 *
 * @example
 * ```ts
 * const onUpdates: EventHandler = (messages) => console.log(messages.length, "updates");
 * ```
 */
export type EventHandler = (messages: Message[]) => unknown;

/**
 * Where a {@link RegisterTable} reads the peer set: a fixed record, a function consulted on every
 * `push()` and `get()`, or an object with a live `peersName` property (a `Proxy`).
 *
 * @example
 * ```ts
 * const fixed: PeersSource = { worker: ["worker.0", "worker.1"] };
 * const live: PeersSource = () => proxy.peersName;
 * const viaProxy: PeersSource = proxy;
 * ```
 */
export type PeersSource = PeersName | (() => PeersName) | { readonly peersName: PeersName };

/**
 * Options of {@link RegisterTable}.
 *
 * @example
 * ```ts
 * new RegisterTable(() => proxy.peersName, { maxBufferedMessages: 256, logger: new DummyLogger() });
 * ```
 */
export interface RegisterTableOptions {
  /**
   * Most messages kept waiting per unit event of each registered event. When a buffer is full the
   * oldest message in it is dropped, counted in {@link RegisterTable.droppedMessages} and logged (warn
   * at the 1st, 2nd, 4th, 8th… drop, debug otherwise). A unit whose percentage needs more messages
   * than this gets room for what it needs. Default 1024.
   */
  maxBufferedMessages?: number;
  /**
   * How many recent message ids are remembered so that pushing the same message (same `messageId`)
   * again is ignored rather than delivered twice. Default 4096.
   */
  duplicateWindow?: number;
  /** Where drops are reported. Default `new InternalLogger("register-table")`. */
  logger?: LoggerLike;
}

interface Buffered {
  /** Push order; sorts messages back into arrival order when several units fire together. */
  readonly seq: number;
  readonly message: Message;
}

interface Registration<H> {
  readonly key: string;
  readonly root: EventNode;
  readonly units: readonly UnitEvent[];
  /** One FIFO queue per unit, same index as `units`. */
  readonly queues: Buffered[][];
  readonly handler: H;
}

type Take = [queue: Buffered[], count: number];

/**
 * Runs handlers when conditional events are satisfied — MARO's `RegisterTable`, with a live peer set,
 * at-most-once delivery and bounded buffers.
 *
 * - {@link RegisterTable.registerEventHandler} registers an event (parsed at once; bad syntax throws
 *   {@link ConditionalEventSyntaxError}).
 * - {@link RegisterTable.push} offers a message to every registered event. Within one event a message is given to
 *   exactly one unit: among the units whose source and tag match it, the most specific source wins
 *   (an exact name, then the longest type or prefix, then `*`), then an exact tag over `*`, then the
 *   unit written first. Each event keeps its own copy: a message consumed by one event is still
 *   available to the others (as in MARO), except to events with the same handler — a message reaches
 *   a given handler at most once.
 * - {@link RegisterTable.get} returns `[handler, messages]` for every event satisfied now (at most one entry per event
 *   per call, in registration order) and consumes those messages. A unit is satisfied when it holds
 *   its amount of messages and gives exactly that many, oldest first; an AND needs all its parts and
 *   gives all their messages; an OR needs one part and gives the messages of every satisfied part.
 *   Messages come in the order they were pushed.
 *
 * @example
 * ```ts
 * const table = new RegisterTable(() => proxy.peersName); // { worker: ["worker.0", …, "worker.9"] }
 * table.registerEventHandler("worker:update:50%", (messages) => average(messages));
 * table.registerEventHandler([["ps.0:model:1", "ps.1:model:1", "AND"], "*:stop:1", "OR"], onModel);
 * for await (const message of proxy.receive()) {
 *   table.push(message);
 *   for (const [handler, messages] of table.get()) await handler(messages);
 * }
 * ```
 */
export class RegisterTable<H = EventHandler> {
  readonly #peers: () => PeersName;
  readonly #maxBuffered: number;
  readonly #duplicateWindow: number;
  readonly #logger: LoggerLike;
  readonly #registrations: Registration<H>[] = [];
  readonly #recentIds = new Set<string>();
  #seq = 0;
  #dropped = 0;
  #duplicates = 0;

  /**
   * @param peers the peer set, read afresh on every `push()` and `get()` when it is a function or an
   *   object with a `peersName` property (a `Proxy`), so percentages always use the current peers.
   * @param options see {@link RegisterTableOptions}.
   * @throws {ConfigError} when `peers` or an option has the wrong shape.
   */
  constructor(peers: PeersSource, options: RegisterTableOptions = {}) {
    this.#peers = toPeersFunction(peers);
    this.#maxBuffered = positiveInteger("maxBufferedMessages", options.maxBufferedMessages, 1024);
    this.#duplicateWindow = positiveInteger("duplicateWindow", options.duplicateWindow, 4096);
    this.#logger = options.logger ?? new InternalLogger("register-table");
  }

  /** Messages dropped so far because a unit's buffer was full (oldest first). */
  get droppedMessages(): number {
    return this.#dropped;
  }

  /** Pushes ignored so far because the same `messageId` had been pushed recently. */
  get duplicateMessages(): number {
    return this.#duplicates;
  }

  /** Messages currently waiting, summed over every event's buffers (a message waiting for two events counts twice). */
  get bufferedMessages(): number {
    let n = 0;
    for (const r of this.#registrations) for (const q of r.queues) n += q.length;
    return n;
  }

  /**
   * Registers `handler` to be returned by {@link RegisterTable.get} whenever `event` is satisfied. Registering the
   * same event with the same handler again changes nothing; the same event with another handler is a
   * separate registration with its own buffers.
   *
   * @returns a function that unregisters it (and drops its waiting messages).
   * @throws {ConditionalEventSyntaxError} when the event is malformed; the message names the bad part.
   * @example
   * ```ts
   * const off = table.registerEventHandler(["worker.0:update:1", "worker.1:update:1", "AND"], onBoth);
   * off(); // no longer fires
   * ```
   */
  registerEventHandler(event: ConditionalEvent, handler: H): () => void {
    const parsed = parseConditionalEvent(event);
    for (const unit of parsed.units) {
      if (unit.amount.kind === "count" && unit.amount.count > this.#maxBuffered) {
        throw new ConditionalEventSyntaxError(
          `conditional event ${unit.path}: "${unit.text}" needs ${unit.amount.count} messages but at most ${this.#maxBuffered} are buffered per unit; lower the amount or raise maxBufferedMessages`,
        );
      }
    }
    let registration = this.#registrations.find((r) => r.key === parsed.key && r.handler === handler);
    if (registration === undefined) {
      registration = {
        key: parsed.key,
        root: parsed.root,
        units: parsed.units,
        queues: parsed.units.map(() => []),
        handler,
      };
      this.#registrations.push(registration);
    }
    const registered = registration;
    return () => {
      const i = this.#registrations.indexOf(registered);
      if (i >= 0) this.#registrations.splice(i, 1);
    };
  }

  /**
   * Offers a message to every registered event; it waits in the buffer of each event it matches until
   * {@link RegisterTable.get} consumes it. A message whose `messageId` was pushed recently is ignored.
   *
   * @returns the number of events the message now waits for (0 if none matched or it was a duplicate).
   * @example
   * ```ts
   * table.push(new Message({ tag: "update", source: "worker.3", destination: "learner", payload: grads }));
   * ```
   */
  push(message: Message): number {
    if (this.#recentIds.has(message.messageId)) {
      this.#duplicates += 1;
      this.#logger.debug(`ignored ${String(message)}: message id ${message.messageId} was already pushed`);
      return 0;
    }
    this.#recentIds.add(message.messageId);
    if (this.#recentIds.size > this.#duplicateWindow) {
      // A Set iterates in insertion order: the first id is the oldest.
      const oldest = this.#recentIds.values().next().value;
      if (oldest !== undefined) this.#recentIds.delete(oldest);
    }
    if (this.#registrations.length === 0) return 0;
    const peers = this.#peers();
    const item: Buffered = { seq: this.#seq++, message };
    let matched = 0;
    for (const r of this.#registrations) {
      const i = bestUnit(r.units, message, peers);
      if (i < 0) continue;
      const queue = r.queues[i];
      const unit = r.units[i];
      if (queue === undefined || unit === undefined) continue;
      if (queue.length >= this.#maxBuffered) {
        const room = Math.max(this.#maxBuffered, requiredAmount(unit, peers));
        while (queue.length >= room) {
          queue.shift();
          this.#reportDrop(r, unit, room);
        }
      }
      queue.push(item);
      matched += 1;
    }
    return matched;
  }

  /**
   * Returns `[handler, messages]` for every event satisfied now and consumes those messages: at most
   * one entry per event per call, in registration order, messages in push order. Call it again to see
   * whether an event is satisfied once more by the messages left over.
   *
   * @example
   * ```ts
   * for (const [handler, messages] of table.get()) await handler(messages);
   * ```
   */
  get(): [H, Message[]][] {
    const out: [H, Message[]][] = [];
    if (this.#registrations.length === 0) return out;
    const peers = this.#peers();
    const requiredCache = new Map<UnitEvent, number>();
    const required = (unit: UnitEvent): number => {
      let n = requiredCache.get(unit);
      if (n === undefined) {
        n = requiredAmount(unit, peers);
        requiredCache.set(unit, n);
      }
      return n;
    };
    for (const r of this.#registrations) {
      const takes = evaluate(r.root, r, required);
      if (takes === null) continue;
      const taken: Buffered[] = [];
      for (const [queue, count] of takes) taken.push(...queue.splice(0, count));
      taken.sort((a, b) => a.seq - b.seq);
      // At most once per handler: other events with this handler must not deliver these messages again.
      const delivered = new Set(taken.map((b) => b.seq));
      for (const other of this.#registrations) {
        if (other === r || other.handler !== r.handler) continue;
        for (let i = 0; i < other.queues.length; i++) {
          const q = other.queues[i];
          if (q !== undefined && q.some((b) => delivered.has(b.seq))) {
            other.queues[i] = q.filter((b) => !delivered.has(b.seq));
          }
        }
      }
      out.push([r.handler, taken.map((b) => b.message)]);
    }
    return out;
  }

  #reportDrop(r: Registration<H>, unit: UnitEvent, room: number): void {
    this.#dropped += 1;
    const text = `conditional event ${r.key}: buffer of unit "${unit.text}" is full (${room} messages); dropped its oldest message (${this.#dropped} dropped in total). Handle events faster or raise maxBufferedMessages.`;
    // Powers of two: a flood is visible at warn level without one line per message.
    if ((this.#dropped & (this.#dropped - 1)) === 0) this.#logger.warn(text);
    else this.#logger.debug(text);
  }
}

/** Index of the unit of `units` that gets `message`, or -1 (see the class documentation for the order). */
function bestUnit(units: readonly UnitEvent[], message: Message, peers: PeersName): number {
  let best = -1;
  let bestSource = -1;
  let bestTag = -1;
  for (const unit of units) {
    const tagScore = unit.tag === "*" ? 0 : unit.tag === message.tag ? 1 : -1;
    if (tagScore < 0) continue;
    const sourceScore = sourceSpecificity(unit.source, message.source, peers);
    if (sourceScore < 0) continue;
    if (sourceScore > bestSource || (sourceScore === bestSource && tagScore > bestTag)) {
      best = unit.index;
      bestSource = sourceScore;
      bestTag = tagScore;
    }
  }
  return best;
}

/** What satisfying `node` would consume, or null when it is not satisfied. */
function evaluate<H>(
  node: EventNode,
  r: Registration<H>,
  required: (unit: UnitEvent) => number,
): Take[] | null {
  if (node.kind === "unit") {
    const queue = r.queues[node.index];
    const n = required(node);
    return queue !== undefined && queue.length >= n ? [[queue, n]] : null;
  }
  const takes: Take[] = [];
  for (const child of node.children) {
    const t = evaluate(child, r, required);
    if (t === null) {
      if (node.kind === "and") return null;
      continue;
    }
    takes.push(...t);
  }
  return takes.length > 0 ? takes : null;
}

function toPeersFunction(peers: PeersSource): () => PeersName {
  if (typeof peers === "function") {
    return () => checkPeers(peers(), "the peers function returned");
  }
  if (typeof peers !== "object" || peers === null) {
    throw new ConfigError(
      `RegisterTable needs the peer set: { [componentType]: names[] }, a function returning it, or a Proxy; got ${peers === null ? "null" : typeof peers}`,
    );
  }
  // An object whose `peersName` is not an array is a live source (a Proxy); a peer record would hold
  // an array there (a component type literally named "peersName").
  if ("peersName" in peers && !Array.isArray(peers.peersName)) {
    const source = peers as { readonly peersName: PeersName };
    return () => checkPeers(source.peersName, "peersName is");
  }
  const fixed = checkPeers(peers as PeersName, "the peer set is");
  return () => fixed;
}

function checkPeers(value: unknown, what: string): PeersName {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `${what} ${Array.isArray(value) ? "an array" : String(value)}; expected { [componentType]: names[] }`,
    );
  }
  for (const [type, names] of Object.entries(value)) {
    if (!Array.isArray(names) || !(names as unknown[]).every((n) => typeof n === "string")) {
      throw new ConfigError(
        `${what} invalid: the entry for "${type}" must be an array of peer names (strings)`,
      );
    }
  }
  return value as PeersName;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(
      `RegisterTable option ${name} must be a whole number of at least 1, got ${String(value)}`,
    );
  }
  return value;
}
