/**
 * Assets: shared resources given to nodes through `assets.X` dependencies, with runner, process (one
 * epoch) or node scope. A value with `Symbol.dispose` / `Symbol.asyncDispose` is disposed when its
 * scope ends.
 * @module
 */
import type { AssetSpec } from "./spec.ts";

/** Makes an asset value from its resolved export and params. */
async function makeAsset(exported: unknown, params: Record<string, unknown>): Promise<unknown> {
  if (typeof exported !== "function") return exported;
  const source = Function.prototype.toString.call(exported);
  if (/^class[\s{]/.test(source)) return new (exported as new (p: unknown) => unknown)(params);
  return await (exported as (p: unknown) => unknown)(params);
}

async function dispose(value: unknown): Promise<void> {
  if (typeof value !== "object" || value === null) return;
  const v = value as { [Symbol.asyncDispose]?: () => Promise<void>; [Symbol.dispose]?: () => void };
  if (typeof v[Symbol.asyncDispose] === "function") await v[Symbol.asyncDispose]!();
  else if (typeof v[Symbol.dispose] === "function") v[Symbol.dispose]!();
}

/**
 * Holds the live asset values of one runner.
 * @example
 * ```ts
 * const assets = new AssetManager(spec.assets, exports, users);
 * await assets.init(); assets.get("db", "writer"); await assets.deinit();
 * ```
 */
export class AssetManager {
  private readonly runner = new Map<string, unknown>();
  private readonly perNode = new Map<string, unknown>();
  private readonly perProcess = new Map<string, unknown>();

  constructor(
    private readonly specs: Record<string, AssetSpec>,
    private readonly exports: Map<string, unknown>,
    /** For each asset, the ids of the nodes that depend on it. */
    private readonly users: Map<string, string[]>,
  ) {}

  private make(id: string): Promise<unknown> {
    return makeAsset(this.exports.get(id), this.specs[id]!.params);
  }

  /** Creates runner- and node-scoped assets. */
  async init(): Promise<void> {
    for (const spec of Object.values(this.specs)) {
      if (spec.scope === "runner") this.runner.set(spec.id, await this.make(spec.id));
      if (spec.scope === "node") {
        for (const nodeId of this.users.get(spec.id) ?? [])
          this.perNode.set(`${spec.id}@${nodeId}`, await this.make(spec.id));
      }
    }
  }

  /** Creates process-scoped assets for one epoch. */
  async beginEpoch(): Promise<void> {
    for (const spec of Object.values(this.specs)) {
      if (spec.scope === "process") this.perProcess.set(spec.id, await this.make(spec.id));
    }
  }

  /** Disposes process-scoped assets at the end of an epoch. */
  async endEpoch(): Promise<void> {
    const values = [...this.perProcess.values()];
    this.perProcess.clear();
    for (const v of values) await dispose(v);
  }

  /** The value node `nodeId` sees for asset `id`. */
  get(id: string, nodeId: string): unknown {
    const scope = this.specs[id]?.scope;
    if (scope === "node") return this.perNode.get(`${id}@${nodeId}`);
    if (scope === "process") return this.perProcess.get(id);
    return this.runner.get(id);
  }

  /** Replaces a runner-scoped asset's value (used by assets with `depends`). */
  set(id: string, value: unknown): void {
    this.runner.set(id, value);
  }

  /** Disposes every live asset. */
  async deinit(): Promise<void> {
    await this.endEpoch();
    const values = [...this.runner.values(), ...this.perNode.values()];
    this.runner.clear();
    this.perNode.clear();
    for (const v of values) await dispose(v);
  }
}
