/**
 * Conditional events: the small language a {@link RegisterTable} uses to say when a handler runs.
 *
 * A *unit event* is the string `"source:tag:amount"`; a *composite event* is an array of events
 * ending in `"AND"` or `"OR"`, nestable. This module parses events (throwing
 * {@link ConditionalEventSyntaxError} with the path of the bad part) and implements the matching rules
 * shared with the register table. See `docs/conditional-events.md` for the full rules.
 *
 * @example
 * ```ts
 * const parsed = parseConditionalEvent([["worker.0:update:2", "worker.1:update:3", "AND"], "ps:*:1", "OR"]);
 * parsed.root.kind; // "or"
 * parsed.units.map((u) => u.text); // ["worker.0:update:2", "worker.1:update:3", "ps:*:1"]
 * ```
 * @module
 */
import { ConditionalEventSyntaxError } from "../core/errors.ts";

/**
 * Peer names by component type, e.g. `{ worker: ["worker.0", "worker.1"], ps: ["ps"] }` — the shape of
 * `Proxy.peersName`.
 *
 * @example
 * ```ts
 * const peers: PeersName = { worker: ["worker.0", "worker.1"] };
 * ```
 */
export type PeersName = Readonly<Record<string, readonly string[]>>;

/**
 * A conditional event as written by the user: a unit event string `"source:tag:amount"`, or an array
 * of events whose last element is `"AND"` or `"OR"`.
 *
 * @example
 * ```ts
 * const unit: ConditionalEvent = "worker:update:50%";
 * const nested: ConditionalEvent = [["w1:update:2", "w2:update:3", "AND"], "w3:update:1", "OR"];
 * ```
 */
export type ConditionalEvent = string | readonly ConditionalEvent[];

/**
 * How many messages a unit event needs: a fixed count, or a share of the peers its source matches.
 *
 * @example
 * ```ts
 * const fixed: UnitAmount = { kind: "count", count: 3 };
 * const half: UnitAmount = { kind: "percent", numerator: 50, denominator: 100 }; // "50%"
 * ```
 */
export type UnitAmount =
  | { readonly kind: "count"; readonly count: number }
  /** `numerator / denominator` is the fraction (e.g. "12.5%" → 125 / 1000), kept exact as integers. */
  | { readonly kind: "percent"; readonly numerator: number; readonly denominator: number };

/**
 * A parsed unit event.
 *
 * @example
 * ```ts
 * const unit = parseConditionalEvent("worker:update:2").units[0]!;
 * unit.source; // "worker"
 * unit.tag;    // "update"
 * unit.amount; // { kind: "count", count: 2 }
 * ```
 */
export interface UnitEvent {
  readonly kind: "unit";
  /** The unit as written, e.g. `"worker:update:2"`. */
  readonly text: string;
  /** Where it sits in the event, e.g. `event[0][1]` (for error and log messages). */
  readonly path: string;
  /** `*`, a component type, a peer name or a peer name prefix. */
  readonly source: string;
  /** `*` or an exact tag. */
  readonly tag: string;
  readonly amount: UnitAmount;
  /** Position of this unit in {@link ParsedConditionalEvent.units} (depth-first, left to right). */
  readonly index: number;
}

/**
 * A parsed composite event.
 *
 * @example
 * ```ts
 * const root = parseConditionalEvent(["a:x:1", "b:y:1", "OR"]).root as CompositeEvent;
 * root.children.length; // 2
 * ```
 */
export interface CompositeEvent {
  readonly kind: "and" | "or";
  readonly path: string;
  readonly children: readonly EventNode[];
}

/**
 * A node of a parsed event tree.
 *
 * @example
 * ```ts
 * const node: EventNode = parseConditionalEvent("*:update:1").root;
 * ```
 */
export type EventNode = UnitEvent | CompositeEvent;

/**
 * The result of {@link parseConditionalEvent}.
 *
 * @example
 * ```ts
 * const { root, units, key } = parseConditionalEvent(["a:x:1", "b:y:1", "AND"]);
 * key; // '["a:x:1","b:y:1","AND"]'
 * ```
 */
export interface ParsedConditionalEvent {
  /** The tree. */
  readonly root: EventNode;
  /** Every unit event of the tree, depth-first, left to right. */
  readonly units: readonly UnitEvent[];
  /** A canonical text of the event (its JSON), used to recognise the same event registered twice. */
  readonly key: string;
}

const OPERATORS = new Set(["AND", "OR"]);
const INTEGER = /^[0-9]+$/;
const PERCENT = /^([0-9]{1,3})(?:\.([0-9]{1,3}))?%$/;
/** Nesting deeper than this is certainly a mistake (and keeps the recursion shallow). */
const MAX_DEPTH = 64;

function fail(path: string, what: string): never {
  throw new ConditionalEventSyntaxError(`conditional event ${path}: ${what}`);
}

function parseAmount(text: string, unitText: string, path: string): UnitAmount {
  if (INTEGER.test(text)) {
    const count = Number(text);
    if (!Number.isSafeInteger(count) || count < 1) {
      fail(
        path,
        `amount "${text}" of "${unitText}" must be a whole number of at least 1, or a percentage like "50%"`,
      );
    }
    return { kind: "count", count };
  }
  const m = PERCENT.exec(text);
  if (m !== null) {
    const decimals = m[2] ?? "";
    const numerator = Number((m[1] ?? "") + decimals);
    const denominator = 100 * 10 ** decimals.length;
    if (numerator < 1 || numerator > denominator) {
      fail(path, `percentage "${text}" of "${unitText}" must be above 0% and at most 100%`);
    }
    return { kind: "percent", numerator, denominator };
  }
  fail(
    path,
    `amount "${text}" of "${unitText}" is neither a whole number (e.g. "3") nor a percentage (e.g. "50%", at most three decimals)`,
  );
}

function parseUnit(text: string, path: string, index: number): UnitEvent {
  const parts = text.split(":");
  if (parts.length !== 3) {
    fail(
      path,
      `"${text}" has ${parts.length} part${parts.length === 1 ? "" : "s"} separated by ":"; write source:tag:amount, e.g. "worker:update:1" (source and tag cannot contain ":")`,
    );
  }
  const [source = "", tag = "", amountText = ""] = parts;
  const hints = {
    source: 'a peer name, a name prefix, a component type or "*"',
    tag: 'a tag or "*"',
    amount: 'a count like "1" or a percentage like "50%"',
  };
  for (const [name, value] of [
    ["source", source],
    ["tag", tag],
    ["amount", amountText],
  ] as const) {
    if (value === "") fail(path, `the ${name} of "${text}" is empty; give ${hints[name]}`);
    if (value.trim() !== value) fail(path, `the ${name} of "${text}" has surrounding spaces; remove them`);
  }
  return { kind: "unit", text, path, source, tag, amount: parseAmount(amountText, text, path), index };
}

/**
 * Parses and validates a conditional event.
 *
 * Rules checked: a unit is exactly three non-empty `:`-separated parts without surrounding spaces; the
 * amount is an integer ≥ 1 or a percentage in (0 %, 100 %] with at most three decimals; a composite is
 * an array of at least two events followed by `"AND"` or `"OR"` (upper case), with the operator only in
 * the last place; nesting is at most 64 deep; two units of one event may not share the same source and
 * tag (they would compete for the same messages, so one of them could never be satisfied — merge them
 * into one amount instead).
 *
 * @throws {ConditionalEventSyntaxError} naming the path of the bad part (`event`, `event[0][2]`, …).
 * @example
 * ```ts
 * parseConditionalEvent("worker:update:2");                      // ok
 * parseConditionalEvent(["a:x:1", "b:y:50%", "OR"]);             // ok
 * parseConditionalEvent("worker:update");  // throws: "event: "worker:update" has 2 parts …"
 * parseConditionalEvent(["a:x:1", "b:y:1", "and"]); // throws: last element must be "AND" or "OR"
 * ```
 */
export function parseConditionalEvent(event: ConditionalEvent): ParsedConditionalEvent {
  const units: UnitEvent[] = [];
  const seen = new Map<string, string>();
  const ancestors = new Set<unknown>();

  const walk = (node: unknown, path: string, depth: number): EventNode => {
    if (depth > MAX_DEPTH) fail(path, `nested more than ${MAX_DEPTH} levels deep; flatten it`);
    if (typeof node === "string") {
      if (OPERATORS.has(node)) fail(path, `operator "${node}" may only be the last element of an array`);
      const unit = parseUnit(node, path, units.length);
      const pair = `${unit.source}\u0000${unit.tag}`;
      const earlier = seen.get(pair);
      if (earlier !== undefined) {
        fail(
          path,
          `"${node}" has the same source and tag as the unit at ${earlier}; both would wait for the same messages, so merge them into one amount`,
        );
      }
      seen.set(pair, path);
      units.push(unit);
      return unit;
    }
    if (Array.isArray(node)) {
      if (ancestors.has(node)) fail(path, "an array contains itself; an event must be a finite tree");
      const items = node as readonly unknown[];
      const last = items[items.length - 1];
      if (typeof last !== "string" || !OPERATORS.has(last)) {
        const hint =
          typeof last !== "string"
            ? ""
            : OPERATORS.has(last.toUpperCase())
              ? ` (operators are upper case: "${last.toUpperCase()}")`
              : last === "&&" || last === "||"
                ? ` (write "${last === "&&" ? "AND" : "OR"}" for "${last}")`
                : "";
        fail(
          path,
          `the last element of a composite event must be "AND" or "OR"${hint}, got ${describe(last)}`,
        );
      }
      if (items.length < 3) {
        fail(path, `"${last}" needs at least two events before it, got ${items.length - 1}`);
      }
      ancestors.add(node);
      const children = items.slice(0, -1).map((child, i) => walk(child, `${path}[${i}]`, depth + 1));
      ancestors.delete(node);
      return { kind: last === "AND" ? "and" : "or", path, children };
    }
    fail(
      path,
      `expected a "source:tag:amount" string or an array ending in "AND"/"OR", got ${describe(node)}`,
    );
  };

  const root = walk(event, "event", 0);
  return { root, units, key: JSON.stringify(event) };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  return value === null ? "null" : typeof value;
}

/**
 * Specificity of an exact peer-name match: beats every prefix or type match.
 *
 * @example
 * ```ts
 * sourceSpecificity("worker.0", "worker.0", {}) === EXACT_NAME_SPECIFICITY; // true
 * ```
 */
export const EXACT_NAME_SPECIFICITY = Number.MAX_SAFE_INTEGER;

/**
 * How specifically a unit source matches the peer name `name`, or -1 if it does not match.
 *
 * - `*` matches every name (specificity 0);
 * - a source equal to the name matches ({@link EXACT_NAME_SPECIFICITY});
 * - a source that is a component type of `peers` (a key, now) matches exactly the names listed under
 *   that type — not other names that merely start with it, so `actor` does not match `actor_eval.0`
 *   when `actor` is a type (specificity: the source's length);
 * - any other source matches the names it is a prefix of, e.g. `worker.` matches `worker.12`
 *   (specificity: the source's length).
 *
 * The longest match wins, so `worker.1` beats `worker` for the name `worker.1`.
 *
 * @example
 * ```ts
 * const peers = { worker: ["worker.0", "worker.1"], worker_eval: ["worker_eval.0"] };
 * sourceSpecificity("*", "worker.0", peers);             // 0
 * sourceSpecificity("worker", "worker.0", peers);        // 6 (type)
 * sourceSpecificity("worker", "worker_eval.0", peers);   // -1 (worker is a type; worker_eval.0 is not one)
 * sourceSpecificity("worker_", "worker_eval.0", peers);  // 7 (prefix)
 * sourceSpecificity("worker.0", "worker.0", peers);      // EXACT_NAME_SPECIFICITY
 * ```
 */
export function sourceSpecificity(source: string, name: string, peers: PeersName): number {
  if (source === "*") return 0;
  if (source === name) return EXACT_NAME_SPECIFICITY;
  if (Object.hasOwn(peers, source)) {
    const members = peers[source];
    return Array.isArray(members) && members.includes(name) ? source.length : -1;
  }
  return name.startsWith(source) ? source.length : -1;
}

/**
 * The number of distinct peers of `peers` that `source` matches (see {@link sourceSpecificity}).
 *
 * @example
 * ```ts
 * countMatchingPeers("*", { worker: ["w.0", "w.1"], ps: ["ps"] }); // 3
 * countMatchingPeers("w.", { worker: ["w.0", "w.1"], ps: ["ps"] }); // 2
 * ```
 */
export function countMatchingPeers(source: string, peers: PeersName): number {
  const names = new Set<string>();
  for (const members of Object.values(peers)) {
    if (!Array.isArray(members)) continue;
    for (const name of members as readonly unknown[]) {
      if (typeof name === "string" && sourceSpecificity(source, name, peers) >= 0) names.add(name);
    }
  }
  return names.size;
}

/**
 * The number of messages a unit needs now: its count, or its percentage of the peers its source
 * matches, rounded up, at least 1 (so a source that matches no peer yet still needs one message).
 *
 * @example
 * ```ts
 * const unit = parseConditionalEvent("worker:update:30%").units[0]!;
 * requiredAmount(unit, { worker: ["w0", "w1", "w2", "w3", "w4"] }); // 2 (30 % of 5 = 1.5, rounded up)
 * ```
 */
export function requiredAmount(unit: UnitEvent, peers: PeersName): number {
  const { amount } = unit;
  if (amount.kind === "count") return amount.count;
  const n = countMatchingPeers(unit.source, peers);
  // Integer arithmetic: 70 % of 10 must be exactly 7, not ceil(7.000000000000001) = 8.
  const needed = Math.floor((amount.numerator * n + amount.denominator - 1) / amount.denominator);
  return Math.max(1, needed);
}
