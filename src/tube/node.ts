/**
 * The `Node` base class and the uniform runtime every node kind is wrapped into.
 * @module
 */
import type { Epoch } from "./epoch.ts";
import type { NodeSpec } from "./spec.ts";

/**
 * What a node sees about the call in progress (bound as `this` for plain functions).
 * @example
 * ```ts
 * // A plain function node gets its context as `this`.
 * export function stamp(this: NodeContext, x: number) {
 *   return { node: this.nodeId, epoch: this.epoch.key, x };
 * }
 * ```
 */
export interface NodeContext {
  /** Id of the node in the spec. */
  nodeId: string;
  /** Epoch being processed. */
  epoch: Epoch;
}

/**
 * Constructor options of a {@link Node} subclass.
 * @example
 * ```ts
 * export class Scale extends Node {
 *   readonly factor: number;
 *   constructor(options: NodeOptions) {
 *     super(options);
 *     this.factor = Number(options.params.factor ?? 1);
 *   }
 *   process(x: number) { return x * this.factor; }
 * }
 * ```
 */
export interface NodeOptions {
  /** Node id in the spec. */
  id: string;
  /** `params` from the spec (tube inputs already substituted). */
  params: Record<string, unknown>;
  /** The node's whole spec entry. */
  spec: NodeSpec;
}

/**
 * Base class for nodes with a lifecycle. `process` gets the dependency values (see docs/tube.md for the
 * argument convention); `this.epoch` holds the current epoch. Declare several outputs with a static
 * `signals` list and return an object keyed by signal.
 * @example
 * ```ts
 * export class Split extends Node {
 *   static override signals = ["even", "odd"];
 *   process(x: number) { return x % 2 ? { even: NoEvent, odd: x } : { even: x, odd: NoEvent }; }
 * }
 * ```
 */
export abstract class Node {
  /** Output signals; `["value"]` unless a subclass or the spec says otherwise. */
  static signals: string[] | undefined = undefined;
  /** Whether epochs must be processed in order (default true for classes). */
  static stateful: boolean | undefined = undefined;
  /** Node id. */
  readonly id: string;
  /** Params from the spec. */
  readonly params: Record<string, unknown>;
  /** Spec entry. */
  readonly spec: NodeSpec;
  /** Epoch of the current `process` call. */
  epoch: Epoch | undefined = undefined;

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.params = options.params;
    this.spec = options.spec;
  }

  /** Called once before the first epoch. */
  init(): void | Promise<void> {}
  /** Called once when the runner is deinitialised. */
  deinit(): void | Promise<void> {}
  /** Processes one epoch. */
  abstract process(...args: any[]): unknown;
}

/**
 * Returned by a source that has no more values (an exhausted generator): the run ends.
 * @example
 * ```ts
 * // A `Node` source that ends the run after three values (a generator ends it by returning).
 * export class Three extends Node {
 *   private n = 0;
 *   process() { return this.n < 3 ? this.n++ : Exhausted; }
 * }
 * ```
 */
export const Exhausted: unique symbol = Symbol.for("weft.tube.Exhausted");

/**
 * A node of any kind, wrapped so runners can treat all kinds the same way.
 * @example
 * ```ts
 * const runtimes: Map<string, NodeRuntime> = tube.createRuntimes();
 * for (const rt of runtimes.values()) console.log(rt.id, rt.kind, rt.signals, rt.stateful);
 * ```
 */
export interface NodeRuntime {
  readonly id: string;
  /** Builtin kind, or `"user"`. */
  readonly kind: "user" | "map" | "gather" | "return" | "tube";
  readonly signals: string[];
  readonly stateful: boolean;
  init(): Promise<void>;
  deinit(): Promise<void>;
  /**
   * Runs the node once. Returns the raw result (value, signal object, NoEvent or {@link Exhausted}),
   * possibly as a promise.
   */
  call(positional: unknown[], named: Record<string, unknown> | undefined, ctx: NodeContext): unknown;
}
