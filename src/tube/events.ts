/**
 * Events that flow between the nodes of a tube, and the meta events runners emit.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Epoch } from "./epoch.ts";

/**
 * Returned by a node (or put on one signal of a multi-signal result) to say "no output here".
 * Required dependents of that signal are cancelled for the epoch; optional slots unlock.
 * @example
 * ```ts
 * export function evens(x: number) { return x % 2 === 0 ? x : NoEvent; }
 * ```
 */
export const NoEvent: unique symbol = Symbol.for("weft.tube.NoEvent");
/** The type of {@link NoEvent}. */
export type NoEvent = typeof NoEvent;

/**
 * Node id used by meta events.
 * @example
 * ```ts
 * runner.addCallback((e) => { if (e.nodeId !== META_NODE_ID) console.log(e.nodeId, e.value); });
 * ```
 */
export const META_NODE_ID = "meta";

/**
 * Signal names of meta events.
 * @example
 * ```ts
 * runner.addCallback((e) => {
 *   if (e.nodeId === META_NODE_ID && e.signal === MetaSignal.EpochEnded) console.log("epoch", e.epoch.key, "ended");
 * });
 * ```
 */
export const MetaSignal = {
  /** A node finished its work for an epoch (emitted by the ZMQRunner's node runners). */
  NodeReady: "NodeReady",
  /** Every node of an epoch finished; its events are cleared from the store. */
  EpochEnded: "EpochEnded",
} as const;

/**
 * One value emitted by a node on one signal in one epoch. Meta events use `nodeId: "meta"` and a
 * {@link MetaSignal} name.
 * @example
 * ```ts
 * runner.addCallback((e) => { if (e.signal === "EpochEnded") console.log("done", e.epoch.key); });
 * ```
 */
export interface TubeEvent {
  /** Unique id. */
  id: string;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** Id of the emitting node, or `"meta"`. */
  nodeId: string;
  /** Signal name (`"value"` by default). */
  signal: string;
  /** Epoch the event belongs to. */
  epoch: Epoch;
  /** The emitted value. */
  value: unknown;
}

/** A function that receives every event and meta event of a runner. @example `runner.addCallback((e) => seen.push(e))` */
export type TubeCallback = (event: TubeEvent) => void;

/** Makes a new event. @example `makeEvent("a", "value", new Epoch(0), 1)` */
export function makeEvent(nodeId: string, signal: string, epoch: Epoch, value: unknown): TubeEvent {
  return { id: randomUUID(), timestamp: Date.now(), nodeId, signal, epoch, value };
}
