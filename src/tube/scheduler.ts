/**
 * The scheduler: runs one root epoch of a tube — topological readiness per (node, epoch), map
 * sub-epochs, cancellation of required dependents when a signal has no event, stateful nodes in epoch
 * order — with a bound on how many node calls run at once.
 * @module
 */
import { NodeError, WeftError } from "../core/errors.ts";
import type { AssetManager } from "./assets.ts";
import { Epoch } from "./epoch.ts";
import { makeEvent, META_NODE_ID, MetaSignal, NoEvent, type TubeEvent } from "./events.ts";
import { sourceScope } from "./graph.ts";
import type { NodeMetricsRecorder } from "./metrics.ts";
import { Exhausted, type NodeRuntime } from "./node.ts";
import type { NodeSpec } from "./spec.ts";
import { EventStore } from "./store.ts";
import type { Tube } from "./tube.ts";

/**
 * Outcome of one root epoch.
 * @example
 * ```ts
 * const result: EpochResult = await exec.runEpoch(0, {});
 * if (!result.exhausted) console.log(result.value);
 * ```
 */
export interface EpochResult {
  /** The return node's value (undefined without a return node or when it had no event). */
  value: unknown;
  /** True when a source generator was exhausted: the run is over. */
  exhausted: boolean;
}

interface Instance {
  node: NodeSpec;
  rt: NodeRuntime;
  epoch: Epoch;
  key: string;
}

type Status = "done" | "expired";
const MISSING = Symbol("missing");

/**
 * Executes epochs of one tube with one set of node runtimes.
 * @example
 * ```ts
 * const exec = new EpochExecutor(tube, tube.createRuntimes(), assets, (e) => log(e), { concurrency: 1 });
 * const { value } = await exec.runEpoch(0, {});
 * ```
 */
export class EpochExecutor {
  /** Events of the epoch in flight (cleared when it ends). */
  readonly store = new EventStore();
  /** Nodes disabled at run time (in addition to `enabled: false` in the spec). */
  readonly disabled = new Set<string>();
  private readonly order: NodeSpec[];
  private readonly depth: Map<string, number>;

  constructor(
    private readonly tube: Tube,
    private readonly runtimes: Map<string, NodeRuntime>,
    private readonly assets: AssetManager,
    private readonly emit: (event: TubeEvent) => void,
    private readonly options: {
      concurrency: number;
      /** Per-node recorders (nodes without one are not measured). */
      metrics?: Map<string, NodeMetricsRecorder>;
    },
  ) {
    const spec = tube.spec;
    this.order = spec.graph.order.map((id) => spec.nodes[id]!);
    this.depth = new Map(this.order.map((n) => [n.id, spec.graph.scope[n.id]!.length]));
    for (const n of this.order) if (!n.enabled) this.disabled.add(n.id);
  }

  /** Runs root epoch `root` to completion with the given input values (tube and process scoped). */
  async runEpoch(root: number, inputs: Record<string, unknown>): Promise<EpochResult> {
    const spec = this.tube.spec;
    const rootEpoch = new Epoch(root);
    const status = new Map<string, Status>();
    const mapCounts = new Map<string, number>();
    const pending: Instance[] = [];
    const busy = new Set<string>();
    const running = new Set<Promise<void>>();
    let exhausted = false;
    let value: unknown = undefined;
    let failure: unknown = undefined;
    const addInstances = (scopeKey: string, epoch: Epoch): void => {
      for (const node of this.order) {
        if (spec.graph.scope[node.id]!.join("/") !== scopeKey) continue;
        const key = `${node.id}@${epoch.key}`;
        pending.push({ node, rt: this.runtimes.get(node.id)!, epoch, key });
      }
    };
    addInstances("", rootEpoch);
    await this.assets.beginEpoch();

    const finished = (nodeId: string, epoch: Epoch): boolean =>
      status.has(`${nodeId}@${epoch.truncate(this.depth.get(nodeId)!).key}`);

    const collect = (src: string, signal: string, ss: string[], epoch: Epoch, out: unknown[]): boolean => {
      if (epoch.depth === ss.length) {
        if (!finished(src, epoch)) return false;
        const ev = this.store.getExact(epoch, src, signal);
        if (ev !== undefined) out.push(ev.value);
        return true;
      }
      const m = ss[epoch.depth]!;
      const mKey = `${m}@${epoch.key}`;
      if (!status.has(mKey)) return false;
      const n = mapCounts.get(mKey) ?? 0;
      for (let i = 0; i < n; i++) if (!collect(src, signal, ss, epoch.child(m, i), out)) return false;
      return true;
    };

    // Returns undefined when not ready; otherwise the arguments (or MISSING when a required slot is empty).
    const prepare = (
      inst: Instance,
    ): { positional: unknown[]; named: Record<string, unknown> | undefined } | typeof MISSING | undefined => {
      const positional: unknown[] = [];
      let named: Record<string, unknown> | undefined;
      let missing = false;
      const nodeDepth = this.depth.get(inst.node.id)!;
      for (const dep of inst.node.depends) {
        let v: unknown = MISSING;
        const ref = dep.source;
        if (ref.kind === "input") v = ref.id in inputs ? inputs[ref.id] : MISSING;
        else if (ref.kind === "assets") v = this.assets.get(ref.id, inst.node.id);
        else {
          const ss = sourceScope(ref, spec.nodes, spec.graph.scope);
          if (ss.length <= nodeDepth) {
            if (!finished(ref.id, inst.epoch)) return undefined;
            const ev = this.store.get(inst.epoch, ref.id, ref.signal);
            if (ev !== undefined) v = ev.value;
          } else {
            const out: unknown[] = [];
            if (!collect(ref.id, ref.signal, ss, inst.epoch, out)) return undefined;
            v = out.length === 0 && inst.rt.kind !== "return" ? MISSING : out;
          }
        }
        const optional =
          inst.rt.kind === "return" ||
          (inst.rt.kind === "gather" && dep.slot === "trigger") ||
          inst.node.optional.includes(String(dep.slot));
        if (v === MISSING) {
          if (!optional) missing = true;
          continue;
        }
        if (typeof dep.slot === "number") positional.push(v);
        else (named ??= {})[dep.slot] = v;
      }
      if (missing) return MISSING;
      return { positional, named };
    };

    const complete = async (inst: Instance, result: unknown): Promise<void> => {
      const { node, rt, epoch, key } = inst;
      if (result === Exhausted) {
        exhausted = true;
        status.set(key, "expired");
        return;
      }
      if (rt.kind === "map") {
        if (result === NoEvent) {
          status.set(key, "expired");
          return;
        }
        const items = result as unknown[];
        for (let i = 0; i < items.length; i++)
          this.publish(makeEvent(node.id, "value", epoch.child(node.id, i), items[i]));
        this.publish(makeEvent(node.id, "n", epoch, items.length));
        mapCounts.set(key, items.length);
        status.set(key, "done");
        const scopeKey = [...spec.graph.scope[node.id]!, node.id].join("/");
        for (let i = 0; i < items.length; i++) addInstances(scopeKey, epoch.child(node.id, i));
        return;
      }
      if (rt.kind === "return") {
        if (result !== NoEvent) value = result;
        status.set(key, "done");
        return;
      }
      let emitted = false;
      if (rt.signals.length === 1 && rt.signals[0] === "value") {
        if (result !== NoEvent && result !== undefined) {
          this.publish(makeEvent(node.id, "value", epoch, result));
          emitted = true;
        }
      } else if (
        result !== NoEvent &&
        result !== undefined &&
        result !== null &&
        typeof result === "object"
      ) {
        for (const signal of rt.signals) {
          const v = (result as Record<string, unknown>)[signal];
          if (v !== undefined && v !== NoEvent) {
            this.publish(makeEvent(node.id, signal, epoch, v));
            emitted = true;
          }
        }
      }
      status.set(key, emitted ? "done" : "expired");
    };

    const fail = (inst: Instance, err: unknown): void => {
      if (failure !== undefined) return;
      if (err instanceof WeftError && !(err instanceof NodeError) && inst.rt.kind !== "user") failure = err;
      else if (err instanceof NodeError) failure = err;
      else {
        const e = err instanceof Error ? err : new Error(String(err));
        failure = new NodeError(
          `node "${inst.node.id}" failed in epoch ${inst.epoch.key}: ${e.name}: ${e.message}`,
          {
            nodeId: inst.node.id,
            originalName: e.name,
            ...(e.stack === undefined ? {} : { originalStack: e.stack }),
            cause: e,
          },
        );
      }
    };

    try {
      while (failure === undefined && (pending.length > 0 || running.size > 0)) {
        let progressed = false;
        const blocked = new Set<string>();
        for (let i = 0; i < pending.length && failure === undefined; i++) {
          if (running.size >= this.options.concurrency) break;
          const inst = pending[i]!;
          const id = inst.node.id;
          if (inst.rt.stateful && (busy.has(id) || blocked.has(id))) continue;
          const rec = this.options.metrics?.get(id);
          if (this.disabled.has(id)) {
            pending.splice(i--, 1);
            rec?.cancelled();
            status.set(inst.key, "expired");
            progressed = true;
            continue;
          }
          const args = prepare(inst);
          if (args === undefined) {
            blocked.add(id);
            continue;
          }
          pending.splice(i--, 1);
          progressed = true;
          if (args === MISSING) {
            rec?.cancelled();
            status.set(inst.key, "expired");
            continue;
          }
          let result: unknown;
          const t0 = rec?.start() ?? 0;
          try {
            result = inst.rt.call(args.positional, args.named, { nodeId: id, epoch: inst.epoch });
          } catch (err) {
            rec?.done(t0, true);
            fail(inst, err);
            break;
          }
          if (result instanceof Promise) {
            busy.add(id);
            const p: Promise<void> = result
              .then(
                (r) => {
                  rec?.done(t0, false);
                  return complete(inst, r);
                },
                (err: unknown) => {
                  rec?.done(t0, true);
                  throw err;
                },
              )
              .catch((err: unknown) => fail(inst, err))
              .finally(() => {
                busy.delete(id);
                running.delete(p);
              });
            running.add(p);
          } else {
            rec?.done(t0, false);
            await complete(inst, result);
          }
          // Restart the scan: a completion may have unlocked earlier instances.
          i = -1;
          blocked.clear();
        }
        if (failure !== undefined) break;
        if (running.size > 0) await Promise.race(running);
        else if (!progressed && pending.length > 0) {
          throw new WeftError(
            `tube ${spec.id}: epoch ${root} cannot make progress (${pending.map((p) => p.key).join(", ")})`,
          );
        }
      }
      if (failure !== undefined) {
        await Promise.allSettled([...running]);
        throw failure;
      }
      for (const asset of Object.values(spec.assets)) {
        if (asset.depends === undefined) continue;
        const ev = this.store.get(rootEpoch, asset.depends.id, asset.depends.signal);
        if (ev !== undefined) this.assets.set(asset.id, ev.value);
      }
    } finally {
      this.store.clear(rootEpoch);
      await this.assets.endEpoch();
    }
    this.emit(makeEvent(META_NODE_ID, MetaSignal.EpochEnded, rootEpoch, rootEpoch.key));
    return { value, exhausted };
  }

  private publish(event: TubeEvent): void {
    this.store.add(event);
    this.emit(event);
  }
}
