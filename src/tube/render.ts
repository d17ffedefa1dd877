/**
 * Text renderings of a tube's graph: generations, Mermaid and Graphviz DOT.
 * @module
 */
import type { TubeSpec } from "./spec.ts";

function edges(spec: TubeSpec): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const node of Object.values(spec.nodes)) {
    for (const d of node.depends) {
      const from = d.source.kind === "node" ? d.source.id : `${d.source.kind}.${d.source.id}`;
      out.push([from, node.id, d.source.kind === "node" ? d.source.signal : ""]);
    }
  }
  return out;
}

/** One line per generation. @example `renderGenerations(spec)` → `"0: count\n1: double\n2: out"` */
export function renderGenerations(spec: TubeSpec): string {
  return spec.graph.generations.map((g, i) => `${i}: ${g.join(", ")}`).join("\n");
}

/** Mermaid flowchart text. @example `renderMermaid(spec).startsWith("flowchart TD")` */
export function renderMermaid(spec: TubeSpec): string {
  const id = (s: string): string => s.replace(/\./g, "__");
  const lines = ["flowchart TD"];
  for (const node of Object.values(spec.nodes)) lines.push(`  ${node.id}["${node.id}: ${node.type}"]`);
  for (const [from, to, signal] of edges(spec)) {
    lines.push(`  ${id(from)} -->${signal && signal !== "value" ? `|${signal}|` : ""} ${to}`);
  }
  return lines.join("\n");
}

/** Graphviz DOT text. @example `renderDot(spec).startsWith("digraph")` */
export function renderDot(spec: TubeSpec): string {
  const lines = [`digraph "${spec.id}" {`];
  for (const node of Object.values(spec.nodes))
    lines.push(`  "${node.id}" [label="${node.id}\\n${node.type}"];`);
  for (const [from, to, signal] of edges(spec)) {
    lines.push(`  "${from}" -> "${to}"${signal && signal !== "value" ? ` [label="${signal}"]` : ""};`);
  }
  lines.push("}");
  return lines.join("\n");
}
