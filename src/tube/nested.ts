/**
 * The `tube` builtin: a nested tube run once per outer epoch. Named depends become its process-scoped
 * inputs; its return (an object) becomes the node's signals; no return value means NoEvent.
 * @module
 */
import { AssetManager } from "./assets.ts";
import { NoEvent } from "./events.ts";
import type { NodeRuntime } from "./node.ts";
import { EpochExecutor } from "./scheduler.ts";
import type { NodeSpec } from "./spec.ts";
import type { Tube } from "./tube.ts";

/**
 * Wraps a loaded inner tube as a node runtime.
 * @example
 * ```yaml
 * inner: { type: tube, params: { tube: ./inner.yaml }, depends: { x: count.value } }
 * ```
 */
export function nestedTubeNode(spec: NodeSpec, inner: Tube): NodeRuntime {
  const ret = inner.returnNodeId === undefined ? undefined : inner.spec.nodes[inner.returnNodeId];
  const signals =
    spec.signals ?? (ret?.dependsForm === "named" ? ret.depends.map((d) => String(d.slot)) : ["value"]);
  let exec: EpochExecutor | undefined;
  let assets: AssetManager | undefined;
  let runtimes: Map<string, NodeRuntime> | undefined;
  let root = 0;
  return {
    id: spec.id,
    kind: "tube",
    signals,
    stateful: true,
    init: async () => {
      runtimes = inner.createRuntimes();
      assets = new AssetManager(inner.spec.assets, inner.assetExports, inner.assetUsers());
      await assets.init();
      for (const rt of runtimes.values()) await rt.init();
      exec = new EpochExecutor(inner, runtimes, assets, () => {}, { concurrency: 1 });
    },
    deinit: async () => {
      for (const rt of runtimes?.values() ?? []) await rt.deinit();
      await assets?.deinit();
      exec = undefined;
    },
    call: async (positional, named) => {
      if (exec === undefined) throw new Error(`nested tube node "${spec.id}" used before init`);
      const inputs: Record<string, unknown> = { ...inner.input, ...(named ?? {}) };
      if (positional.length > 0 && named === undefined) inputs.value = positional[0];
      const { value } = await exec.runEpoch(root++, inputs);
      if (value === undefined || value === NoEvent) return NoEvent;
      return signals.length === 1 && signals[0] === "value" ? value : value;
    },
  };
}
