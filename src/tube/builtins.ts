/**
 * Builtin node kinds: `map`, `gather`, `return` and `tube` (a nested tube).
 * @module
 */
import { NoEvent } from "./events.ts";
import type { NodeRuntime } from "./node.ts";
import type { NodeSpec } from "./spec.ts";

const noop = async (): Promise<void> => {};

function firstArg(
  positional: unknown[],
  named: Record<string, unknown> | undefined,
  slot = "value",
): unknown {
  return positional.length > 0 ? positional[0] : named?.[slot];
}

/**
 * `map`: one sub-epoch per item of its input (any iterable; a string maps to its characters), plus
 * signal `n` with the item count in the parent epoch. An empty input emits nothing.
 * @example
 * ```yaml
 * letters: { type: map, depends: word.value }
 * ```
 */
export function mapNode(spec: NodeSpec): NodeRuntime {
  return {
    id: spec.id,
    kind: "map",
    signals: ["value", "n"],
    stateful: false,
    init: noop,
    deinit: noop,
    call: (positional, named) => {
      const input = firstArg(positional, named);
      if (input === NoEvent || input === undefined || input === null) return NoEvent;
      const items =
        typeof input === "object" || typeof input === "string"
          ? Array.from(input as Iterable<unknown>)
          : [input];
      return items.length === 0 ? NoEvent : items;
    },
  };
}

/**
 * `gather`: collects values into a list. Three modes: the sub-epochs of a map (input from inside a map,
 * no `n`), every `n` values (`params.n`), or until the `trigger` slot fires. `params.flatten: true`
 * concatenates array items.
 * @example
 * ```yaml
 * word: { type: gather, depends: upper.value }          # collapses the letters map
 * five: { type: gather, params: { n: 5 }, depends: letter.value }
 * ```
 */
export function gatherNode(spec: NodeSpec, collapses: boolean): NodeRuntime {
  const n = typeof spec.params.n === "number" ? spec.params.n : undefined;
  const flatten = spec.params.flatten === true;
  let buffer: unknown[] = [];
  const out = (items: unknown[]): unknown =>
    flatten ? items.flatMap((x) => (Array.isArray(x) ? x : [x])) : items;
  return {
    id: spec.id,
    kind: "gather",
    signals: ["value"],
    stateful: !collapses,
    init: async () => {
      buffer = [];
    },
    deinit: async () => {
      buffer = [];
    },
    call: (positional, named) => {
      const value = firstArg(positional, named);
      if (collapses) {
        const items = (value as unknown[] | undefined) ?? [];
        return items.length === 0 ? NoEvent : out(items);
      }
      if (value !== undefined && value !== NoEvent) buffer.push(value);
      const trigger = named?.trigger;
      const fire = n !== undefined ? buffer.length >= n : trigger !== undefined && trigger !== NoEvent;
      if (!fire) return NoEvent;
      const items = buffer;
      buffer = [];
      return out(items);
    },
  };
}

/**
 * `return`: the value `process()` resolves to. Scalar depends → that value, list → array, named →
 * object; dependencies inside maps are collected in epoch order.
 * @example
 * ```yaml
 * out: { type: return, depends: [{ total: sum.value }, { count: n.value }] }
 * ```
 */
export function returnNode(spec: NodeSpec): NodeRuntime {
  return {
    id: spec.id,
    kind: "return",
    signals: ["value"],
    stateful: false,
    init: noop,
    deinit: noop,
    call: (positional, named) => {
      if (spec.dependsForm === "scalar") return positional[0] === undefined ? NoEvent : positional[0];
      if (spec.dependsForm === "named") return named ?? {};
      if (spec.dependsForm === "none") return NoEvent;
      return named === undefined ? positional : [...positional, named];
    },
  };
}
