/**
 * What the ZMQRunner's caller makes of the node outputs it receives: the events its callbacks see (the
 * same ones the in-process runners emit) and the value of the tube's return node, which runs in the
 * caller rather than in a process of its own.
 * @module
 */
import { returnNode } from "../builtins.ts";
import { Epoch } from "../epoch.ts";
import { makeEvent, META_NODE_ID, MetaSignal, NoEvent, type TubeCallback } from "../events.ts";
import type { Tube } from "../tube.ts";
import type { NodeOutput } from "./protocol.ts";
import { NOT_READY, type RootOutputs, type SubEpochModel } from "./sub-epochs.ts";

const ROOT_EPOCH = new Epoch(0);

/**
 * Calls every callback with the events of one node output, in its (sub-)epoch.
 * @example
 * ```ts
 * emitOutputEvents(model, output, [(e) => console.log(e.nodeId, e.signal, e.value)]);
 * ```
 */
export function emitOutputEvents(
  model: SubEpochModel,
  out: NodeOutput,
  callbacks: readonly TubeCallback[],
): void {
  const epoch = model.epochOf(out.nodeId, out.epoch, out.path);
  const emit = (signal: string, at: Epoch, value: unknown): void => {
    const e = makeEvent(out.nodeId, signal, at, value);
    for (const cb of callbacks) cb(e);
  };
  if (model.isMap(out.nodeId)) {
    // As the in-process runners do: one `value` event per item in its sub-epoch, then `n`.
    const items = (out.signals.value as unknown[] | undefined) ?? [];
    for (let i = 0; i < items.length; i++) emit("value", epoch.child(out.nodeId, i), items[i]);
    if (out.signals.n !== undefined) emit("n", epoch, out.signals.n);
    return;
  }
  for (const [signal, value] of Object.entries(out.signals)) emit(signal, epoch, value);
}

/**
 * Calls every callback with the `EpochEnded` event of root epoch `epoch`.
 * @example
 * ```ts
 * emitEpochEnded(3, [(e) => console.log(e.signal, e.value)]); // "EpochEnded" "3"
 * ```
 */
export function emitEpochEnded(epoch: number, callbacks: readonly TubeCallback[]): void {
  const at = new Epoch(epoch);
  const ended = makeEvent(META_NODE_ID, MetaSignal.EpochEnded, at, at.key);
  for (const cb of callbacks) cb(ended);
}

/**
 * The tube's return node, evaluated by the caller on the outputs of one complete root epoch.
 * @example
 * ```ts
 * const ret = new ReturnValue(tube, new SubEpochModel(tube));
 * const value = ret.of(outputsOfEpoch); // undefined when the tube has no return node
 * ```
 */
export class ReturnValue {
  private runtime: ReturnType<typeof returnNode> | undefined;

  constructor(
    private readonly tube: Tube,
    private readonly model: SubEpochModel,
  ) {}

  /** The return node's value for these outputs (undefined without a return node, or on `NoEvent`). */
  of(outs: RootOutputs): unknown {
    const id = this.tube.returnNodeId;
    if (id === undefined) return undefined;
    const spec = this.tube.spec.nodes[id]!;
    const positional: unknown[] = [];
    let named: Record<string, unknown> | undefined;
    for (let k = 0; k < spec.depends.length; k++) {
      const d = spec.depends[k]!;
      if (d.source.kind !== "node") continue;
      const v = this.model.depValue(id, k, outs, []);
      if (v === undefined || v === NOT_READY) continue;
      if (typeof d.slot === "number") positional.push(v);
      else (named ??= {})[d.slot] = v;
    }
    this.runtime ??= returnNode(spec);
    const r = this.runtime.call(positional, named, { nodeId: id, epoch: ROOT_EPOCH });
    return r === NoEvent ? undefined : r;
  }
}
