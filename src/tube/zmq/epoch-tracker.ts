/**
 * The ZMQRunner caller's record of root epochs in flight: which node outputs the caller needs, what each
 * submitted epoch expects, the outputs that have arrived for it, and the promise waiting for its result.
 * Outputs come from many processes in any order, so the record decides when an epoch is complete.
 * @module
 */
import { NodeError } from "../../core/errors.ts";
import type { Tube } from "../tube.ts";
import type { NodeOutput } from "./protocol.ts";
import { RootOutputs, pathKey, type SubEpochModel } from "./sub-epochs.ts";

/**
 * What one root epoch ended with.
 * @example
 * ```ts
 * const outcome: EpochOutcome = await tracker.expect(0, false);
 * if (!outcome.exhausted) console.log(outcome.value);
 * ```
 */
export interface EpochOutcome {
  /** The return node's value (undefined without a return node). */
  value: unknown;
  /** True when a source said it is exhausted in this epoch. */
  exhausted: boolean;
}

/**
 * The outputs of one root epoch in flight. `outstanding` counts the outputs still to come among the
 * sub-epochs known so far: an output inside a map is only counted once the map's own output (with its
 * item count) has been counted, so outputs that overtake their map's output across processes are parked
 * until it arrives, and `outstanding` reaches 0 only when the whole epoch is in.
 * @example
 * ```ts
 * const root: PendingRoot = tracker.receive(output);
 * if (root.report) console.log("events of this epoch go to callbacks");
 * ```
 */
export interface PendingRoot {
  /** True when the epoch's events go to callbacks. */
  report: boolean;
  outs: RootOutputs;
  outstanding: number;
  /** `map@path` of every map output counted so far. */
  counted: Set<string>;
  parked: Map<string, NodeOutput[]>;
  failed: NodeOutput | undefined;
}

interface Waiter {
  epoch: number;
  resolve: (v: EpochOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Root epochs in flight on the caller's side, from submission to result.
 * @example
 * ```ts
 * const tracker = new EpochTracker(tube, model, ["source", "sink"]);
 * const done = tracker.expect(0, false);
 * // for every output received:
 * const root = tracker.receive(output);
 * if (tracker.arrived(root, output)) tracker.settle(output.epoch, root, returnValue);
 * console.log((await done).value);
 * ```
 */
export class EpochTracker {
  private readonly outputs = new Map<number, PendingRoot>();
  /** Per epoch submitted: whether its events go to callbacks, and root outputs the caller waits for. */
  private readonly submitted = new Map<number, { report: boolean; expect: number }>();
  private readonly waiters = new Map<number, Waiter>();
  /** Nodes that run once per root epoch (outside every map). */
  private readonly rootNodes: number;
  /** Nodes whose outputs the caller gets in every epoch (the others only in reported epochs). */
  readonly toCaller: ReadonlySet<string>;

  /** `nodeIds`: every node that runs in a process of its own (all but the return node). */
  constructor(
    tube: Tube,
    private readonly model: SubEpochModel,
    nodeIds: readonly string[],
  ) {
    const spec = tube.spec;
    this.rootNodes = nodeIds.filter((id) => model.scope[id]!.length === 0).length;
    // Outputs the caller needs in every epoch: those the return node reads and those of the nodes nothing
    // else consumes. Each node sends its output only after every output it consumed arrived, and passes
    // errors and exhaustion on, so those outputs tell the caller that the whole epoch is done. With maps
    // the caller needs every output (the maps' item counts tell it how many sub-epochs to wait for).
    const ret = tube.returnNodeId;
    const readByReturn = new Set(
      ret === undefined ? [] : model.watched(ret).filter((id) => nodeIds.includes(id)),
    );
    this.toCaller = new Set(
      model.mapped
        ? nodeIds
        : nodeIds.filter(
            (id) =>
              readByReturn.has(id) ||
              spec.graph.dependents[id]!.every((d) => spec.nodes[d]!.type === "return"),
          ),
    );
  }

  /** Epochs with outputs received but not complete yet. */
  get pending(): number {
    return this.outputs.size;
  }

  /** Epochs submitted whose result nobody has been given yet. */
  get inFlight(): number {
    return this.waiters.size;
  }

  /** Forgets the outputs and submissions of a previous session (waiters are settled on close). */
  reset(): void {
    this.outputs.clear();
    this.submitted.clear();
  }

  /**
   * Records a submitted epoch and whether its events go to callbacks (then every node's outputs come to
   * the caller). Resolves with its outcome, or rejects with the node's error.
   */
  expect(epoch: number, report: boolean): Promise<EpochOutcome> {
    this.submitted.set(epoch, {
      report,
      expect: report || this.model.mapped ? this.rootNodes : this.toCaller.size,
    });
    const done = new Promise<EpochOutcome>((resolve, reject) => {
      this.waiters.set(epoch, { epoch, resolve, reject });
    });
    done.catch(() => {}); // observed by the caller; avoids an unhandled rejection while queued
    return done;
  }

  /** Stores one output in its epoch's record (made on its first output) and returns the record. */
  receive(out: NodeOutput): PendingRoot {
    let st = this.outputs.get(out.epoch);
    if (st === undefined) {
      const meta = this.submitted.get(out.epoch);
      this.submitted.delete(out.epoch);
      st = {
        report: meta?.report ?? true,
        outs: new RootOutputs(),
        outstanding: meta?.expect ?? this.rootNodes,
        counted: new Set(),
        parked: new Map(),
        failed: undefined,
      };
      this.outputs.set(out.epoch, st);
    }
    st.outs.add(out);
    if (out.error !== undefined) st.failed ??= out;
    return st;
  }

  /**
   * Counts a received output, or parks it until its map's output is counted. True once the epoch is
   * complete; the record is dropped then.
   */
  arrived(st: PendingRoot, out: NodeOutput): boolean {
    if (out.path.length === 0) this.count(st, out);
    else {
      const s = this.model.scope[out.nodeId]!;
      const parent = `${s[s.length - 1]!}@${pathKey(out.path.slice(0, -1))}`;
      if (st.counted.has(parent)) this.count(st, out);
      else {
        const list = st.parked.get(parent);
        if (list === undefined) st.parked.set(parent, [out]);
        else list.push(out);
      }
    }
    if (st.outstanding > 0) return false;
    this.outputs.delete(out.epoch);
    return true;
  }

  /** Counts one output as arrived; a map's output adds its sub-epochs and releases outputs parked on it. */
  private count(st: PendingRoot, out: NodeOutput): void {
    st.outstanding--;
    if (!this.model.mapped || !this.model.isMap(out.nodeId)) return;
    const key = `${out.nodeId}@${pathKey(out.path)}`;
    st.counted.add(key);
    const n = typeof out.signals.n === "number" ? out.signals.n : 0;
    st.outstanding += n * this.model.children.get(out.nodeId)!.length;
    const parked = st.parked.get(key);
    if (parked === undefined) return;
    st.parked.delete(key);
    for (const p of parked) this.count(st, p);
  }

  /** Gives a complete epoch's result to its waiter: `value`, or the first node error it carried. */
  settle(epoch: number, st: PendingRoot, value: unknown): void {
    const w = this.waiters.get(epoch);
    if (w === undefined) return;
    this.waiters.delete(epoch);
    const failed = st.failed;
    if (failed?.error !== undefined) {
      const { nodeId, at, name, message, stack } = failed.error;
      w.reject(
        new NodeError(`node "${nodeId}" failed in epoch ${at}: ${name}: ${message}`, {
          nodeId,
          originalName: name,
          originalStack: stack,
        }),
      );
    } else w.resolve({ value, exhausted: st.outs.exhausted });
  }

  /** Rejects every epoch still waiting for its result with `error()` (the runner failed or closed). */
  rejectAll(error: () => unknown): void {
    const ws = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of ws) w.reject(error());
  }
}
