/**
 * Graph analysis of a tube: topological order, generations, cycles, and map scopes (which map nodes'
 * sub-epochs a node runs in).
 * @module
 */
import { TubeSpecError } from "../core/errors.ts";
import type { NodeSpec, SourceRef } from "./spec.ts";

/**
 * Result of {@link analyseGraph}.
 * @example
 * ```ts
 * const { order, dependents }: GraphInfo = loadSpec("./tubes/count.yaml").graph;
 * order; // ["count", "double", "out"]
 * dependents.count; // ["double"]
 * ```
 */
export interface GraphInfo {
  /** Node ids in a topological order (spec order among independent nodes). */
  order: string[];
  /** Nodes grouped by generation: generation k depends only on generations before k. */
  generations: string[][];
  /** For each node, the map nodes whose sub-epochs it runs in, outermost first. */
  scope: Record<string, string[]>;
  /** Downstream node ids of each node. */
  dependents: Record<string, string[]>;
}

/** Scope of the events of `ref` (a map's `value` signal lives one level below the map itself). */
export function sourceScope(
  ref: SourceRef,
  nodes: Record<string, NodeSpec>,
  scope: Record<string, string[]>,
): string[] {
  if (ref.kind !== "node") return [];
  const base = scope[ref.id] ?? [];
  return nodes[ref.id]?.type === "map" && ref.signal === "value" ? [...base, ref.id] : base;
}

function isPrefix(a: string[], b: string[]): boolean {
  return a.length <= b.length && a.every((x, i) => b[i] === x);
}

/**
 * Orders the graph, finds generations, detects cycles and assigns map scopes.
 * @example
 * ```ts
 * const info = analyseGraph("tube.yaml", spec.nodes);
 * info.generations; // [["count"], ["double"], ["out"]]
 * ```
 */
export function analyseGraph(source: string, nodes: Record<string, NodeSpec>): GraphInfo {
  const ids = Object.keys(nodes);
  const upstream: Record<string, string[]> = {};
  const dependents: Record<string, string[]> = {};
  for (const id of ids) dependents[id] = [];
  for (const id of ids) {
    const ups = [
      ...new Set(nodes[id]!.depends.filter((d) => d.source.kind === "node").map((d) => d.source.id)),
    ];
    upstream[id] = ups;
    for (const u of ups) dependents[u]!.push(id);
  }
  // Cycle detection by depth-first search, reporting the cycle's path.
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 1);
    stack.push(id);
    for (const u of upstream[id]!) {
      const s = state.get(u);
      if (s === 1) {
        const cycle = [...stack.slice(stack.indexOf(u)), u].reverse();
        throw new TubeSpecError(
          `${source}: node "${u}": dependency cycle ${cycle.join(" → ")}; break one edge`,
        );
      }
      if (s === undefined) visit(u);
    }
    stack.pop();
    state.set(id, 2);
  };
  for (const id of ids) if (!state.has(id)) visit(id);

  const level: Record<string, number> = {};
  const order: string[] = [];
  const remaining = new Set(ids);
  while (remaining.size > 0) {
    for (const id of ids) {
      if (!remaining.has(id)) continue;
      if (upstream[id]!.every((u) => !remaining.has(u))) {
        level[id] = Math.max(-1, ...upstream[id]!.map((u) => level[u]!)) + 1;
        order.push(id);
        remaining.delete(id);
      }
    }
  }
  const generations: string[][] = [];
  for (const id of order) (generations[level[id]!] ??= []).push(id);

  const scope: Record<string, string[]> = {};
  for (const id of order) {
    const node = nodes[id]!;
    const depScopes = node.depends.map((d) => ({ dep: d, scope: sourceScope(d.source, nodes, scope) }));
    if (node.type === "return") {
      scope[id] = [];
      continue;
    }
    let deepest: string[] = [];
    for (const { scope: s } of depScopes) if (s.length > deepest.length) deepest = s;
    for (const { dep, scope: s } of depScopes) {
      if (!isPrefix(s, deepest)) {
        throw new TubeSpecError(
          `${source}: node "${id}": cross-map join; "${dep.source.id}.${dep.source.signal}" runs under map ${s.join("/") || "(root)"} but another dependency runs under map ${deepest.join("/")}; gather one side first`,
        );
      }
    }
    if (node.type === "gather") {
      const valueDep = node.depends.find((d) => d.slot === "value" || d.slot === 0);
      const valueScope = valueDep ? sourceScope(valueDep.source, nodes, scope) : [];
      if (valueScope.length > 0 && node.params.n === undefined) {
        scope[id] = valueScope.slice(0, -1);
        for (const { dep, scope: s } of depScopes) {
          if (dep !== valueDep && !isPrefix(s, scope[id])) {
            throw new TubeSpecError(
              `${source}: node "${id}": cross-map join; gather's "${String(dep.slot)}" slot must come from outside map ${valueScope.at(-1)}`,
            );
          }
        }
        continue;
      }
    }
    scope[id] = deepest;
  }
  return { order, generations, scope, dependents };
}
