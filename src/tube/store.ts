/**
 * EventStore: epoch → node → signal → events, with sub-epochs falling back to their parents.
 * @module
 */
import type { Epoch } from "./epoch.ts";
import type { TubeEvent } from "./events.ts";

/**
 * Holds the events of the epochs in flight.
 * @example
 * ```ts
 * const store = new EventStore();
 * store.add(makeEvent("a", "value", new Epoch(0), 1));
 * store.get(new Epoch(0).child("m", 2), "a", "value")?.value; // 1 (falls back to the parent epoch)
 * ```
 */
export class EventStore {
  private readonly byEpoch = new Map<string, Map<string, Map<string, TubeEvent[]>>>();

  /** Stores one event. */
  add(event: TubeEvent): void {
    let nodes = this.byEpoch.get(event.epoch.key);
    if (nodes === undefined) this.byEpoch.set(event.epoch.key, (nodes = new Map()));
    let signals = nodes.get(event.nodeId);
    if (signals === undefined) nodes.set(event.nodeId, (signals = new Map()));
    const list = signals.get(event.signal);
    if (list === undefined) signals.set(event.signal, [event]);
    else list.push(event);
  }

  /** The latest event of `nodeId`/`signal` in `epoch` or, failing that, its nearest ancestor epoch. */
  get(epoch: Epoch, nodeId: string, signal: string): TubeEvent | undefined {
    for (let e: Epoch | undefined = epoch; e !== undefined; e = e.parent) {
      const list = this.byEpoch.get(e.key)?.get(nodeId)?.get(signal);
      if (list !== undefined && list.length > 0) return list[list.length - 1];
    }
    return undefined;
  }

  /** The latest event of `nodeId`/`signal` stored for exactly `epoch` (no fallback). */
  getExact(epoch: Epoch, nodeId: string, signal: string): TubeEvent | undefined {
    const list = this.byEpoch.get(epoch.key)?.get(nodeId)?.get(signal);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** Every event stored for exactly `epoch`. */
  events(epoch: Epoch): TubeEvent[] {
    const out: TubeEvent[] = [];
    for (const signals of this.byEpoch.get(epoch.key)?.values() ?? []) {
      for (const list of signals.values()) out.push(...list);
    }
    return out;
  }

  /** Drops `epoch` and all of its sub-epochs. */
  clear(epoch: Epoch): void {
    const prefix = `${epoch.key}/`;
    for (const key of [...this.byEpoch.keys()]) {
      if (key === epoch.key || key.startsWith(prefix)) this.byEpoch.delete(key);
    }
  }

  /** Number of epochs with stored events. */
  get size(): number {
    return this.byEpoch.size;
  }
}
