/**
 * Resolves a node or asset `type` (`./file.ts#export`, `package#export`) to the exported value and wraps
 * user nodes (functions, generator functions, classes with `process`, `Node` subclasses) into runtimes.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TubeSpecError } from "../core/errors.ts";
import { Exhausted, Node, type NodeContext, type NodeRuntime } from "./node.ts";
import type { NodeSpec } from "./spec.ts";

const modules = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports the export a `type` string names.
 * @example
 * ```ts
 * const fn = await resolveType("./nodes.ts#double", "/tubes", "/tubes/a.yaml", 'node "d"');
 * ```
 */
export async function resolveType(
  type: string,
  baseDir: string,
  source: string,
  where: string,
): Promise<unknown> {
  const hash = type.lastIndexOf("#");
  if (hash <= 0 || hash === type.length - 1) {
    throw new TubeSpecError(
      `${source}: ${where}: type "${type}" is neither a builtin (map, gather, return, tube) nor "module#export"`,
    );
  }
  const spec = type.slice(0, hash);
  const name = type.slice(hash + 1);
  const relative = spec.startsWith("./") || spec.startsWith("../");
  const url = relative || isAbsolute(spec) ? pathToFileURL(resolve(baseDir, spec)).href : spec;
  let loading = modules.get(url);
  if (loading === undefined) {
    loading = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, loading);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await loading;
  } catch (err) {
    modules.delete(url);
    throw new TubeSpecError(
      `${source}: ${where}: module "${spec}" cannot be found or loaded (${(err as Error).message.split("\n")[0]})`,
      { cause: err },
    );
  }
  if (!(name in mod)) {
    throw new TubeSpecError(
      `${source}: ${where}: module "${spec}" has no export "${name}" (exports: ${Object.keys(mod).join(", ") || "none"})`,
    );
  }
  return mod[name];
}

function kindOf(fn: (...a: any[]) => unknown): "generator" | "class" | "node" | "function" {
  const proto = (fn as { prototype?: unknown }).prototype;
  const ctorName = (fn as { constructor?: { name?: string } }).constructor?.name;
  if (ctorName === "GeneratorFunction" || ctorName === "AsyncGeneratorFunction") return "generator";
  if (proto instanceof Node) return "node";
  if (
    typeof proto === "object" &&
    proto !== null &&
    typeof (proto as { process?: unknown }).process === "function"
  ) {
    return "class";
  }
  return "function";
}

/**
 * Wraps a user export into a {@link NodeRuntime}.
 * @example
 * ```ts
 * const rt = wrapUserNode(spec.nodes.double, double, {});
 * ```
 */
export function wrapUserNode(
  spec: NodeSpec,
  exported: unknown,
  params: Record<string, unknown>,
  source: string,
): NodeRuntime {
  if (typeof exported !== "function") {
    throw new TubeSpecError(
      `${source}: node "${spec.id}": export for type "${spec.type}" is not a function or class`,
    );
  }
  const fn = exported as ((...a: any[]) => unknown) & { signals?: string[]; stateful?: boolean };
  const kind = kindOf(fn);
  const signals = spec.signals ?? fn.signals ?? ["value"];
  const stateful = spec.stateful ?? fn.stateful ?? kind !== "function";
  const base = { id: spec.id, kind: "user" as const, signals, stateful };
  if (kind === "function") {
    return {
      ...base,
      init: async () => {},
      deinit: async () => {},
      call: (positional, named, ctx) => {
        const args = paramsMerged(positional, named, params);
        return fn.apply(ctx, args);
      },
    };
  }
  if (kind === "generator") {
    let it: Iterator<unknown> | AsyncIterator<unknown> | undefined;
    return {
      ...base,
      init: async () => {
        it = fn(params) as Iterator<unknown> | AsyncIterator<unknown>;
      },
      deinit: async () => {
        await it?.return?.();
        it = undefined;
      },
      call: (positional, named) => {
        if (it === undefined) it = fn(params) as Iterator<unknown>;
        const arg = named ?? (positional.length <= 1 ? positional[0] : positional);
        const step = it.next(arg);
        const finish = (r: IteratorResult<unknown>): unknown => (r.done === true ? Exhausted : r.value);
        return step instanceof Promise ? step.then(finish) : finish(step as IteratorResult<unknown>);
      },
    };
  }
  let instance:
    | (Node | { process: (...a: unknown[]) => unknown; init?: () => unknown; deinit?: () => unknown })
    | undefined;
  const make = (): typeof instance => {
    const Ctor = fn as unknown as new (arg: unknown) => NonNullable<typeof instance>;
    return kind === "node" ? new Ctor({ id: spec.id, params, spec }) : new Ctor(params);
  };
  return {
    ...base,
    init: async () => {
      instance = make();
      await instance!.init?.();
    },
    deinit: async () => {
      const inst = instance;
      instance = undefined;
      await inst?.deinit?.();
    },
    call: (positional, named, ctx: NodeContext) => {
      instance ??= make();
      if (instance instanceof Node) instance.epoch = ctx.epoch;
      return instance!.process(...(named === undefined ? positional : [...positional, named]));
    },
  };
}

function paramsMerged(
  positional: unknown[],
  named: Record<string, unknown> | undefined,
  params: Record<string, unknown>,
): unknown[] {
  const hasParams = Object.keys(params).length > 0;
  if (named === undefined && !hasParams) return positional;
  return [...positional, { ...params, ...named }];
}
