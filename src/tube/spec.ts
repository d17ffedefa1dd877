/**
 * Tube specification: load YAML or JSON, validate with zod, normalise into typed objects and check the
 * graph (unknown sources, cycles, duplicate slots, reserved ids, returns, cross-map joins).
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { TubeSpecError } from "../core/errors.ts";
import { analyseGraph, type GraphInfo } from "./graph.ts";
import { tubeFileSchema, type RawNode, type TubeFile } from "./spec-schema.ts";

/**
 * Ids no node may take: they name other namespaces of a spec.
 * @example
 * ```ts
 * (RESERVED_IDS as readonly string[]).includes("input"); // true: no node may be called "input"
 * ```
 */
export const RESERVED_IDS = ["assets", "input", "meta", "tube"] as const;
/**
 * Builtin node types.
 * @example
 * ```ts
 * const builtin = (BUILTIN_TYPES as readonly string[]).includes(node.type); // "map", "gather", "return" or "tube"
 * ```
 */
export const BUILTIN_TYPES = ["map", "gather", "return", "tube"] as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Where a dependency's value comes from.
 * @example
 * ```ts
 * const ref: SourceRef = parseSource("count"); // { kind: "node", id: "count", signal: "value" }
 * ```
 */
export interface SourceRef {
  /** `node` for another node's signal, `input` for a tube input, `assets` for an asset. */
  kind: "node" | "input" | "assets";
  /** Node, input or asset id. */
  id: string;
  /** Signal name (`"value"` unless given). */
  signal: string;
}

/**
 * One slot of a node, filled by one source.
 * @example
 * ```ts
 * // `depends: { x: count, k: input.factor }` normalises to:
 * const depends: DependSpec[] = [
 *   { slot: "x", source: { kind: "node", id: "count", signal: "value" } },
 *   { slot: "k", source: { kind: "input", id: "factor", signal: "value" } },
 * ];
 * ```
 */
export interface DependSpec {
  /** Position (positional form) or name (named form). */
  slot: number | string;
  /** The source of the slot's value. */
  source: SourceRef;
}

/**
 * A normalised node entry.
 * @example
 * ```ts
 * const node: NodeSpec = loadSpec("./tubes/count.yaml").nodes.double!;
 * node.depends.map((d) => d.source.id); // ["count"]
 * ```
 */
export interface NodeSpec {
  id: string;
  /** `./file.ts#export`, `package#export`, or a builtin (`map`, `gather`, `return`, `tube`). */
  type: string;
  /** How `depends` was written: it decides how arguments are passed (see docs/tube.md). */
  dependsForm: "none" | "scalar" | "list" | "named";
  depends: DependSpec[];
  params: Record<string, unknown>;
  enabled: boolean;
  stateful: boolean | undefined;
  signals: string[] | undefined;
  /** Slot names (or positions as strings) that may stay empty. */
  optional: string[];
  description: string | undefined;
}

/**
 * A normalised input entry.
 * @example
 * ```ts
 * for (const input of Object.values(loadSpec("./tubes/count.yaml").input)) {
 *   console.log(input.id, input.required ? "required" : `default ${String(input.default)}`);
 * }
 * ```
 */
export interface InputSpec {
  id: string;
  type: string | undefined;
  scope: "tube" | "process";
  hasDefault: boolean;
  default: unknown;
  required: boolean;
  description: string | undefined;
}

/**
 * A normalised asset entry.
 * @example
 * ```ts
 * for (const asset of Object.values(spec.assets)) console.log(asset.id, asset.type, asset.scope);
 * ```
 */
export interface AssetSpec {
  id: string;
  type: string;
  scope: "runner" | "process" | "node";
  params: Record<string, unknown>;
  /** For runner-scoped assets: the node signal whose events replace the asset's value after each epoch. */
  depends: SourceRef | undefined;
  description: string | undefined;
}

/**
 * A validated, normalised tube specification.
 * @example
 * ```ts
 * const spec: TubeSpec = loadSpec("./tubes/count.yaml");
 * console.log(spec.id, Object.keys(spec.nodes), spec.graph.generations);
 * ```
 */
export interface TubeSpec {
  id: string;
  description: string | undefined;
  /** Name used in error messages: the file path, or `<inline>`. */
  source: string;
  /** Directory module paths are resolved against. */
  baseDir: string;
  input: Record<string, InputSpec>;
  assets: Record<string, AssetSpec>;
  nodes: Record<string, NodeSpec>;
  /** Scopes, generations and map structure. */
  graph: GraphInfo;
}

/**
 * Options of {@link loadSpec}.
 * @example
 * ```ts
 * const spec = loadSpec({ tube_id: "inline", nodes: { double: { type: "./nodes.ts#double" } } }, { baseDir: "./tubes" });
 * ```
 */
export interface LoadSpecOptions {
  /** Directory for relative module paths of an inline spec. Default: `process.cwd()`. */
  baseDir?: string;
}

/**
 * Loads and validates a spec from a file path, YAML/JSON text object, or parsed object.
 * Throws {@link TubeSpecError} naming the file, the node and the problem.
 * @example
 * ```ts
 * const spec = loadSpec("./tubes/count.yaml");
 * Object.keys(spec.nodes); // ["count", "double", "out"]
 * ```
 */
export function loadSpec(
  pathOrSpec: string | Record<string, unknown>,
  options: LoadSpecOptions = {},
): TubeSpec {
  const seen = new Set<string>();
  const { file, source, baseDir } = loadLayered(pathOrSpec, options.baseDir ?? process.cwd(), seen);
  return normalise(file, source, baseDir);
}

function readRaw(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TubeSpecError(
      `${path}: cannot read the tube file (${(err as Error).message}); check the path`,
      {
        cause: err,
      },
    );
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new TubeSpecError(`${path}: not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
  }
}

function parseFile(raw: unknown, source: string): TubeFile {
  const result = tubeFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new TubeSpecError(`${source}: ${where}: ${issue.message}`);
  }
  return result.data;
}

function loadLayered(
  pathOrSpec: string | Record<string, unknown>,
  baseDir: string,
  seen: Set<string>,
): { file: TubeFile; source: string; baseDir: string } {
  let raw: unknown;
  let source: string;
  let dir: string;
  if (typeof pathOrSpec === "string") {
    const path = resolve(baseDir, pathOrSpec);
    if (seen.has(path)) throw new TubeSpecError(`${path}: extends itself (through ${[...seen].join(" → ")})`);
    seen.add(path);
    raw = readRaw(path);
    source = path;
    dir = dirname(path);
  } else {
    raw = pathOrSpec;
    source = "<inline>";
    dir = baseDir;
  }
  const file = parseFile(raw, source);
  const parents =
    file.extends === undefined ? [] : Array.isArray(file.extends) ? file.extends : [file.extends];
  if (parents.length === 0) return { file, source, baseDir: dir };
  let merged: TubeFile = {};
  for (const parent of parents) merged = mergeFiles(merged, loadLayered(parent, dir, seen).file);
  merged = mergeFiles(merged, { ...file, extends: undefined });
  return { file: merged, source, baseDir: dir };
}

/** Merges two files, the later winning key by key; a node's fields merge, its `depends` is replaced whole. */
function mergeFiles(a: TubeFile, b: TubeFile): TubeFile {
  const nodes: Record<string, RawNode | null> = { ...(a.nodes ?? {}) };
  const laterHasReturn = Object.values(b.nodes ?? {}).some((n) => n?.type === "return");
  if (laterHasReturn) {
    for (const [id, n] of Object.entries(nodes))
      if (n?.type === "return" && !(id in (b.nodes ?? {}))) delete nodes[id];
  }
  for (const [id, n] of Object.entries(b.nodes ?? {})) {
    const prev = nodes[id];
    nodes[id] = prev && n ? { ...prev, ...n } : n;
  }
  const out: TubeFile = {
    ...a,
    ...b,
    nodes,
    input: { ...a.input, ...b.input },
    assets: { ...a.assets, ...b.assets },
  };
  delete out.extends;
  return out;
}

/**
 * Parses `node.signal`, `input.X` or `assets.X`.
 * @example
 * ```ts
 * parseSource("split.odd"); // { kind: "node", id: "split", signal: "odd" }
 * parseSource("input.factor"); // { kind: "input", id: "factor", signal: "value" }
 * ```
 */
export function parseSource(text: string): SourceRef {
  const dot = text.indexOf(".");
  const head = dot === -1 ? text : text.slice(0, dot);
  const rest = dot === -1 ? undefined : text.slice(dot + 1);
  if (head === "input" || head === "assets") return { kind: head, id: rest ?? "", signal: "value" };
  return { kind: "node", id: head, signal: rest ?? "value" };
}

function checkId(source: string, what: string, id: string): void {
  if ((RESERVED_IDS as readonly string[]).includes(id)) {
    throw new TubeSpecError(
      `${source}: ${what} "${id}": reserved id; ${RESERVED_IDS.join(", ")} name namespaces of the spec, rename it`,
    );
  }
  if (!IDENTIFIER.test(id)) {
    throw new TubeSpecError(
      `${source}: ${what} "${id}": bad identifier; use letters, digits and "_", starting with a letter or "_"`,
    );
  }
}

function normaliseDepends(
  source: string,
  id: string,
  raw: RawNode["depends"],
): Pick<NodeSpec, "dependsForm" | "depends"> {
  if (raw === undefined) return { dependsForm: "none", depends: [] };
  if (typeof raw === "string")
    return { dependsForm: "scalar", depends: [{ slot: 0, source: parseSource(raw) }] };
  const depends: DependSpec[] = [];
  const named = new Set<string>();
  const addNamed = (slot: string, src: string): void => {
    if (named.has(slot))
      throw new TubeSpecError(`${source}: node "${id}": duplicate slot "${slot}" in depends`);
    named.add(slot);
    depends.push({ slot, source: parseSource(src) });
  };
  if (Array.isArray(raw)) {
    let position = 0;
    for (const item of raw) {
      if (typeof item === "string") depends.push({ slot: position++, source: parseSource(item) });
      else {
        const entries = Object.entries(item);
        if (entries.length !== 1) {
          throw new TubeSpecError(
            `${source}: node "${id}": each map in a depends list needs exactly one key (slot: source), got ${entries.length}`,
          );
        }
        addNamed(entries[0]![0], entries[0]![1]);
      }
    }
    const onlyPositional = named.size === 0;
    return {
      dependsForm: onlyPositional
        ? "list"
        : depends.every((d) => typeof d.slot === "string")
          ? "named"
          : "list",
      depends,
    };
  }
  for (const [slot, src] of Object.entries(raw)) addNamed(slot, src);
  return { dependsForm: "named", depends };
}

function normalise(file: TubeFile, source: string, baseDir: string): TubeSpec {
  const input: Record<string, InputSpec> = {};
  for (const [id, raw] of Object.entries(file.input ?? {})) {
    checkId(source, "input", id);
    const hasDefault = raw.default !== undefined;
    input[id] = {
      id,
      type: raw.type,
      scope: raw.scope ?? "tube",
      hasDefault,
      default: raw.default,
      required: raw.required ?? !hasDefault,
      description: raw.description,
    };
  }
  const assets: Record<string, AssetSpec> = {};
  for (const [id, raw] of Object.entries(file.assets ?? {})) {
    checkId(source, "asset", id);
    assets[id] = {
      id,
      type: raw.type,
      scope: raw.scope ?? "runner",
      params: raw.params ?? {},
      depends: raw.depends === undefined ? undefined : parseSource(raw.depends),
      description: raw.description,
    };
  }
  const nodes: Record<string, NodeSpec> = {};
  for (const [id, raw] of Object.entries(file.nodes ?? {})) {
    checkId(source, "node", id);
    if (raw === null) throw new TubeSpecError(`${source}: node "${id}": empty entry; give at least its type`);
    if (raw.type === undefined) {
      throw new TubeSpecError(
        `${source}: node "${id}": no type; give a builtin (map, gather, return, tube) or "./module.ts#export"`,
      );
    }
    nodes[id] = {
      id,
      type: raw.type,
      ...normaliseDepends(source, id, raw.depends),
      params: raw.params ?? {},
      enabled: raw.enabled ?? true,
      stateful: raw.stateful,
      signals: raw.signals,
      optional: raw.optional ?? [],
      description: raw.description,
    };
  }
  const returns = Object.values(nodes).filter((n) => n.type === "return");
  if (returns.length > 1) {
    throw new TubeSpecError(
      `${source}: more than one return node (${returns.map((n) => n.id).join(", ")}); keep one`,
    );
  }
  for (const node of Object.values(nodes)) {
    for (const dep of node.depends)
      checkSource(source, `node "${node.id}"`, dep.source, nodes, input, assets);
  }
  for (const asset of Object.values(assets)) {
    if (asset.depends === undefined) continue;
    if (asset.scope !== "runner") {
      throw new TubeSpecError(
        `${source}: asset "${asset.id}": depends is only allowed on runner-scoped assets`,
      );
    }
    checkSource(source, `asset "${asset.id}"`, asset.depends, nodes, input, assets);
  }
  const graph = analyseGraph(source, nodes);
  return {
    id: file.noob_id ?? file.tube_id ?? "tube",
    description: file.description,
    source,
    baseDir,
    input,
    assets,
    nodes,
    graph,
  };
}

function checkSource(
  source: string,
  where: string,
  ref: SourceRef,
  nodes: Record<string, NodeSpec>,
  input: Record<string, InputSpec>,
  assets: Record<string, AssetSpec>,
): void {
  if (ref.kind === "input" && !(ref.id in input)) {
    throw new TubeSpecError(
      `${source}: ${where}: unknown input "${ref.id}"; declare it under input: (known: ${Object.keys(input).join(", ") || "none"})`,
    );
  }
  if (ref.kind === "assets" && !(ref.id in assets)) {
    throw new TubeSpecError(
      `${source}: ${where}: unknown asset "${ref.id}"; declare it under assets: (known: ${Object.keys(assets).join(", ") || "none"})`,
    );
  }
  if (ref.kind === "node") {
    const target = nodes[ref.id];
    if (target === undefined) {
      throw new TubeSpecError(
        `${source}: ${where}: unknown dependency "${ref.id}.${ref.signal}"; no node "${ref.id}" (nodes: ${Object.keys(nodes).join(", ")})`,
      );
    }
    if (
      target.signals !== undefined &&
      !target.signals.includes(ref.signal) &&
      !builtinSignal(target.type, ref.signal)
    ) {
      throw new TubeSpecError(
        `${source}: ${where}: unknown dependency "${ref.id}.${ref.signal}"; node "${ref.id}" has signals ${target.signals.join(", ")}`,
      );
    }
  }
}

function builtinSignal(type: string, signal: string): boolean {
  return type === "map" && (signal === "value" || signal === "n");
}
