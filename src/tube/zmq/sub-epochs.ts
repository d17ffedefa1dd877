/**
 * Sub-epochs across processes: how the ZMQRunner's command node and node runners find, from the outputs
 * they hold for one root epoch, which map items exist, when a node's sub-epoch is ready and what its
 * arguments are. Both sides use the same rules as the in-process scheduler, so results match.
 *
 * On the wire an output names its sub-epoch by an item path: one index per map enclosing its node (the
 * map ids are fixed by the graph, so only the indices travel). A map node publishes one output per
 * sub-epoch it runs in, with signal `n` (the item count) and signal `value` (all items, in order); its
 * dependents take item `i` for sub-epoch `i`.
 * @module
 */
import { Epoch } from "../epoch.ts";
import { sourceScope } from "../graph.ts";
import type { DependSpec, NodeSpec } from "../spec.ts";
import type { Tube } from "../tube.ts";
import type { NodeOutput } from "./protocol.ts";

/** Map item indices of a sub-epoch, one per enclosing map (empty for a root epoch). */
export type ItemPath = readonly number[];

/** Stable key of an item path (`""` for the root epoch, `"2.0"` for item 0 of item 2). */
export function pathKey(path: ItemPath): string {
  return path.length === 0 ? "" : path.join(".");
}

/** A dependency that is not ready yet (some output it needs has not arrived). */
export const NOT_READY: unique symbol = Symbol("not-ready");
/** A required dependency that has no event: the node is cancelled in that sub-epoch. */
export const MISSING: unique symbol = Symbol("missing");

/** The outputs one process holds for one root epoch, by node and item path. */
export class RootOutputs {
  private readonly byNode = new Map<string, Map<string, NodeOutput>>();
  /** True once an output says a source is exhausted. */
  exhausted = false;

  /** Stores an output (a later output for the same node and path replaces it). */
  add(out: NodeOutput): void {
    let m = this.byNode.get(out.nodeId);
    if (m === undefined) this.byNode.set(out.nodeId, (m = new Map()));
    m.set(pathKey(out.path), out);
    if (out.exhausted) this.exhausted = true;
  }

  /** The output of `nodeId` in the sub-epoch `path`. */
  get(nodeId: string, path: ItemPath): NodeOutput | undefined {
    return this.byNode.get(nodeId)?.get(pathKey(path));
  }
}

/** The argument values of one call (see `runOnce` in the node runner and the scheduler's `prepare`). */
export interface CallArgs {
  positional: unknown[];
  named: Record<string, unknown> | undefined;
}

interface DepInfo {
  dep: DependSpec;
  /** Scope of the dependency's events (a map's `value` lives one level below the map). */
  scope: string[];
}

/**
 * The static shape of a tube's map scopes, with the lookups both sides of the ZMQRunner need.
 * @example
 * ```ts
 * const model = new SubEpochModel(tube);
 * const outs = new RootOutputs();
 * outs.add(output);
 * model.instances("up", outs); // item paths of node "up" known so far, in epoch order
 * ```
 */
export class SubEpochModel {
  /** Enclosing maps of every node, outermost first. */
  readonly scope: Record<string, string[]>;
  /** True when the tube has a map node (otherwise every output is for a root epoch). */
  readonly mapped: boolean;
  private readonly nodes: Record<string, NodeSpec>;
  private readonly deps = new Map<string, DepInfo[]>();
  /** Nodes (other than `return`) that run once per item of each map. */
  readonly children = new Map<string, string[]>();

  constructor(tube: Tube) {
    const spec = tube.spec;
    this.nodes = spec.nodes;
    this.scope = spec.graph.scope;
    this.mapped = Object.values(spec.nodes).some((n) => n.type === "map");
    for (const n of Object.values(spec.nodes)) {
      this.deps.set(
        n.id,
        n.depends.map((dep) => ({ dep, scope: sourceScope(dep.source, spec.nodes, spec.graph.scope) })),
      );
      if (n.type === "map") this.children.set(n.id, []);
    }
    for (const n of Object.values(spec.nodes)) {
      const s = this.scope[n.id] ?? [];
      if (n.type !== "return" && s.length > 0) this.children.get(s[s.length - 1]!)!.push(n.id);
    }
  }

  /** True for a map node. */
  isMap(nodeId: string): boolean {
    return this.nodes[nodeId]?.type === "map";
  }

  /**
   * Nodes whose outputs `nodeId` needs: its node dependencies and every map enclosing one of them (whose
   * `n` tells how many sub-epochs there are).
   */
  watched(nodeId: string): string[] {
    const out = new Set<string>();
    for (const { dep, scope } of this.deps.get(nodeId) ?? []) {
      if (dep.source.kind === "node") out.add(dep.source.id);
      for (const m of scope) out.add(m);
    }
    return [...out];
  }

  /** The sub-epoch of `nodeId` at `path` as an {@link Epoch}. */
  epochOf(nodeId: string, root: number, path: ItemPath): Epoch {
    if (path.length === 0) return new Epoch(root);
    const s = this.scope[nodeId]!;
    return new Epoch(
      root,
      path.map((i, k) => [s[k]!, i] as const),
    );
  }

  /** Item count of map `mapId` in sub-epoch `path` (0 when it emitted nothing), or undefined if unknown. */
  count(outs: RootOutputs, mapId: string, path: ItemPath): number | undefined {
    const o = outs.get(mapId, path);
    if (o === undefined) return undefined;
    const n = o.signals.n;
    return typeof n === "number" ? n : 0;
  }

  /**
   * Item paths of `nodeId` in one root epoch, in epoch order, as far as the map counts received so far
   * tell; `complete` is false while some enclosing map's count is still unknown.
   */
  instances(nodeId: string, outs: RootOutputs): { paths: ItemPath[]; complete: boolean } {
    const s = this.scope[nodeId] ?? [];
    if (s.length === 0) return { paths: [[]], complete: true };
    const paths: ItemPath[] = [];
    let complete = true;
    const walk = (path: number[]): void => {
      if (path.length === s.length) {
        paths.push(path);
        return;
      }
      const n = this.count(outs, s[path.length]!, path);
      if (n === undefined) {
        complete = false;
        return;
      }
      for (let i = 0; i < n; i++) walk([...path, i]);
    };
    walk([]);
    return { paths, complete };
  }

  /** Value of signal `signal` of node `src` seen from sub-epoch `path` (at least as deep as its scope). */
  private lookup(outs: RootOutputs, src: string, signal: string, path: ItemPath): unknown | typeof NOT_READY {
    const depth = (this.scope[src] ?? []).length;
    const o = outs.get(src, depth === path.length ? path : path.slice(0, depth));
    if (o === undefined) return NOT_READY;
    if (signal === "value" && this.isMap(src)) {
      const items = o.signals.value as unknown[] | undefined;
      return items?.[path[depth]!];
    }
    return o.signals[signal];
  }

  /** Values of `src.signal` in every sub-epoch under `path` down to `scope`, in epoch order. */
  private collect(
    outs: RootOutputs,
    src: string,
    signal: string,
    scope: string[],
    path: number[],
    out: unknown[],
  ): boolean {
    if (path.length === scope.length) {
      const v = this.lookup(outs, src, signal, path);
      if (v === NOT_READY) return false;
      if (v !== undefined) out.push(v);
      return true;
    }
    const n = this.count(outs, scope[path.length]!, path);
    if (n === undefined) return false;
    for (let i = 0; i < n; i++) if (!this.collect(outs, src, signal, scope, [...path, i], out)) return false;
    return true;
  }

  /**
   * The value one dependency gives node `nodeId` in sub-epoch `path`: {@link NOT_READY} while an output
   * it needs is missing, `undefined` when it has no event; dependencies from inside a map the node is
   * outside of (a collapsing gather, the return node) give the list of their values in epoch order.
   */
  depValue(nodeId: string, k: number, outs: RootOutputs, path: ItemPath): unknown | typeof NOT_READY {
    const { dep, scope } = this.deps.get(nodeId)![k]!;
    const ref = dep.source;
    if (scope.length <= path.length) return this.lookup(outs, ref.id, ref.signal, path);
    const out: unknown[] = [];
    if (!this.collect(outs, ref.id, ref.signal, scope, [...path], out)) return NOT_READY;
    return out.length === 0 && this.nodes[nodeId]!.type !== "return" ? undefined : out;
  }
}
