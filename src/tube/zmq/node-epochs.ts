/**
 * A node process's event store, per root epoch: its command inputs and the outputs it watches. A root
 * epoch's entry goes once the node has run all of its sub-epochs and every output it expects has arrived
 * (so a late output cannot bring back an epoch that is over).
 * @module
 */
import type { NodeOutput, OutputError } from "./protocol.ts";
import { RootOutputs, type ItemPath, type SubEpochModel } from "./sub-epochs.ts";

/**
 * What a node process holds for one root epoch.
 * @example
 * ```ts
 * const st: RootState = epochs.stateOf(3);
 * st.inputs = { threshold: 0.5 };
 * ```
 */
export interface RootState {
  inputs: Record<string, unknown> | undefined;
  outs: RootOutputs;
  /** Outputs received (compared with the number expected before the entry is dropped). */
  received: number;
  /** The node's sub-epochs in this root epoch, once every enclosing map's count is known. */
  paths: ItemPath[] | undefined;
  started: Set<string>;
  done: number;
  begun: boolean;
  /** Whether the caller reports this epoch's events to callbacks (then every output goes to it). */
  report: boolean;
  /** The first failure an output of this epoch carried, passed on in this node's outputs. */
  error: OutputError | undefined;
}

/**
 * The root epochs one node process holds, by epoch number, in the order they arrived.
 * @example
 * ```ts
 * const epochs = new NodeEpochs(model, "sink", model.watched("sink"), false);
 * epochs.receive(upstreamOutput);
 * for (const [root, st] of epochs) console.log(root, epochs.pathsOf(st));
 * ```
 */
export class NodeEpochs implements Iterable<[number, RootState]> {
  private readonly roots = new Map<number, RootState>();
  /** The root epoch a sequential node runs next: stateful nodes run root epochs strictly in this order. */
  next = 0;
  private readonly depth: number;

  /**
   * `watched`: the node's node dependencies and the maps enclosing them; `sequential`: whether the node
   * runs root epochs one at a time, in order.
   */
  constructor(
    private readonly model: SubEpochModel,
    private readonly nodeId: string,
    private readonly watched: readonly string[],
    private readonly sequential: boolean,
  ) {
    this.depth = model.scope[nodeId]!.length;
  }

  /** Root epochs held. */
  get size(): number {
    return this.roots.size;
  }

  [Symbol.iterator](): MapIterator<[number, RootState]> {
    return this.roots[Symbol.iterator]();
  }

  /** The entry of root epoch `root`, if held. */
  get(root: number): RootState | undefined {
    return this.roots.get(root);
  }

  /** The entry of root epoch `root`, made empty when not held yet. */
  stateOf(root: number): RootState {
    let st = this.roots.get(root);
    if (st === undefined) {
      st = {
        inputs: undefined,
        outs: new RootOutputs(),
        received: 0,
        paths: undefined,
        started: new Set(),
        done: 0,
        begun: false,
        report: false,
        error: undefined,
      };
      this.roots.set(root, st);
    }
    return st;
  }

  /** Stores an output of a watched node in its root epoch's entry. */
  receive(out: NodeOutput): void {
    const st = this.stateOf(out.epoch);
    st.outs.add(out);
    st.received++;
    if (out.report === true) st.report = true;
    if (out.error !== undefined) st.error ??= out.error;
    this.release(out.epoch, st);
  }

  /** The node's sub-epochs in this root epoch, undefined while an enclosing map's count is unknown. */
  pathsOf(st: RootState): ItemPath[] | undefined {
    if (st.paths !== undefined) return st.paths;
    if (this.depth === 0) return (st.paths = [[]]);
    const r = this.model.instances(this.nodeId, st.outs);
    if (r.complete) st.paths = r.paths;
    return st.paths;
  }

  /** Drops the entry once the node has run every sub-epoch of it and every expected output arrived. */
  release(root: number, st: RootState): void {
    const paths = st.paths;
    if (paths === undefined || st.done < paths.length || (this.sequential && root >= this.next)) return;
    if (st.received >= this.expected(st)) this.roots.delete(root);
  }

  // Outputs expected from the watched nodes in one root epoch (Infinity while some map count is unknown).
  private expected(st: RootState): number {
    if (!this.model.mapped) return this.watched.length;
    let n = 0;
    for (const w of this.watched) {
      const r = this.model.instances(w, st.outs);
      if (!r.complete) return Infinity;
      n += r.paths.length;
    }
    return n;
  }
}
