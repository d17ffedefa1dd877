/**
 * Tube: a validated spec with its node and asset exports resolved and its tube-scoped inputs bound.
 * @module
 */
import { InputMissingError, TubeSpecError } from "../core/errors.ts";
import { gatherNode, mapNode, returnNode } from "./builtins.ts";
import { resolveType, wrapUserNode } from "./node-loader.ts";
import type { NodeRuntime } from "./node.ts";
import { nestedTubeNode } from "./nested.ts";
import { BUILTIN_TYPES, loadSpec, type TubeSpec } from "./spec.ts";

/**
 * Options of {@link Tube.fromSpecification}.
 * @example
 * ```ts
 * const options: TubeOptions = { input: { factor: 3 } };
 * const tube = await Tube.fromSpecification("./count.yaml", options);
 * ```
 */
export interface TubeOptions {
  /** Values of tube-scoped inputs (defaults from the spec fill the rest). */
  input?: Record<string, unknown>;
  /** Base directory for an inline spec's relative module paths. Default: `process.cwd()`. */
  baseDir?: string;
}

/**
 * A loaded tube, ready to be given to a runner.
 * @example
 * ```ts
 * const tube = await Tube.fromSpecification("./count.yaml", { input: { factor: 3 } });
 * await using runner = new SynchronousRunner(tube);
 * await runner.process(); // → the return node's value
 * ```
 */
export class Tube {
  private constructor(
    /** The validated spec. */
    readonly spec: TubeSpec,
    /** Tube-scoped input values. */
    readonly input: Record<string, unknown>,
    private readonly exports: Map<string, unknown>,
    /** Resolved asset exports. */
    readonly assetExports: Map<string, unknown>,
    private readonly nested: Map<string, Tube>,
    /** The spec object, when the tube was loaded from one rather than from a file. */
    readonly rawSpec: Record<string, unknown> | undefined,
  ) {}

  /** Loads a spec (path, or parsed object), resolves its modules and binds tube-scoped inputs. */
  static async fromSpecification(
    pathOrSpec: string | Record<string, unknown>,
    options: TubeOptions = {},
  ): Promise<Tube> {
    const spec = loadSpec(pathOrSpec, options.baseDir === undefined ? {} : { baseDir: options.baseDir });
    const given = options.input ?? {};
    const input: Record<string, unknown> = {};
    for (const inp of Object.values(spec.input)) {
      if (inp.scope !== "tube") continue;
      if (inp.id in given) input[inp.id] = given[inp.id];
      else if (inp.hasDefault) input[inp.id] = inp.default;
      else if (inp.required) {
        throw new InputMissingError(
          `${spec.source}: required tube input "${inp.id}" is missing; pass it in { input }`,
        );
      }
    }
    const exports = new Map<string, unknown>();
    const nested = new Map<string, Tube>();
    for (const node of Object.values(spec.nodes)) {
      if (node.type === "tube") {
        const inner = node.params.tube;
        if (typeof inner !== "string" && (typeof inner !== "object" || inner === null)) {
          throw new TubeSpecError(
            `${spec.source}: node "${node.id}": a tube node needs params.tube (a path or a spec)`,
          );
        }
        const innerInput = (node.params.input ?? {}) as Record<string, unknown>;
        nested.set(
          node.id,
          await Tube.fromSpecification(inner as string | Record<string, unknown>, {
            input: innerInput,
            baseDir: spec.baseDir,
          }),
        );
      } else if (!(BUILTIN_TYPES as readonly string[]).includes(node.type)) {
        exports.set(node.id, await resolveType(node.type, spec.baseDir, spec.source, `node "${node.id}"`));
      }
    }
    const assetExports = new Map<string, unknown>();
    for (const asset of Object.values(spec.assets)) {
      assetExports.set(
        asset.id,
        await resolveType(asset.type, spec.baseDir, spec.source, `asset "${asset.id}"`),
      );
    }
    return new Tube(
      spec,
      input,
      exports,
      assetExports,
      nested,
      typeof pathOrSpec === "string" ? undefined : pathOrSpec,
    );
  }

  /** The tube's id (`noob_id`). */
  get id(): string {
    return this.spec.id;
  }

  /** Id of the return node, if any. */
  get returnNodeId(): string | undefined {
    return Object.values(this.spec.nodes).find((n) => n.type === "return")?.id;
  }

  /** A node's params with string values `input.X` replaced by tube-scoped input values. */
  paramsOf(nodeId: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.spec.nodes[nodeId]!.params)) {
      if (typeof v === "string" && v.startsWith("input.")) {
        const id = v.slice(6);
        if (!(id in this.spec.input)) {
          throw new TubeSpecError(`${this.spec.source}: node "${nodeId}": param ${k}: unknown input "${id}"`);
        }
        out[k] = this.input[id];
      } else out[k] = v;
    }
    return out;
  }

  /** Fresh node runtimes (one set per runner: node state is never shared between runners). */
  createRuntimes(): Map<string, NodeRuntime> {
    const out = new Map<string, NodeRuntime>();
    for (const node of Object.values(this.spec.nodes)) {
      let rt: NodeRuntime;
      if (node.type === "map") rt = mapNode(node);
      else if (node.type === "gather") {
        const scope = this.spec.graph.scope[node.id] ?? [];
        const valueDep = node.depends.find((d) => d.slot === "value" || d.slot === 0);
        const valueOwnerScope =
          valueDep?.source.kind === "node" ? (this.spec.graph.scope[valueDep.source.id] ?? []) : [];
        const isMapValue = valueDep !== undefined && this.spec.nodes[valueDep.source.id]?.type === "map";
        rt = gatherNode(node, valueOwnerScope.length + (isMapValue ? 1 : 0) > scope.length);
      } else if (node.type === "return") rt = returnNode(node);
      else if (node.type === "tube") rt = nestedTubeNode(node, this.nested.get(node.id)!);
      else rt = wrapUserNode(node, this.exports.get(node.id), this.paramsOf(node.id), this.spec.source);
      out.set(node.id, rt);
    }
    return out;
  }

  /** For each asset, the nodes that depend on it. */
  assetUsers(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const node of Object.values(this.spec.nodes)) {
      for (const d of node.depends) {
        if (d.source.kind === "assets") out.set(d.source.id, [...(out.get(d.source.id) ?? []), node.id]);
      }
    }
    return out;
  }
}
