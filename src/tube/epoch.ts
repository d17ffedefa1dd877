/**
 * Epochs: one root epoch per pass through a tube; `map` nodes open sub-epochs under it.
 * @module
 */

/**
 * One step of an epoch path: the map node that opened it and the item index.
 * @example
 * ```ts
 * const segment: EpochSegment = ["letters", 1];
 * new Epoch(3, [segment]).key; // "3/letters:1"
 * ```
 */
export type EpochSegment = readonly [nodeId: string, index: number];

/**
 * The wire form of an epoch: `[root, [[node, index], …]]`.
 * @example
 * ```ts
 * const wire: EpochWire = new Epoch(3).child("letters", 1).toWire(); // [3, [["letters", 1]]]
 * Epoch.fromWire(wire).key; // "3/letters:1"
 * ```
 */
export type EpochWire = [number, [string, number][]];

/**
 * An epoch: a root integer plus the path of `(map node, index)` segments that led to it.
 *
 * Epochs order by root, then segment by segment (a parent sorts before its sub-epochs).
 * @example
 * ```ts
 * const e = new Epoch(3).child("letters", 1); // 3/letters:1
 * e.parent?.key; // "3"
 * ```
 */
export class Epoch {
  /** Stable string key, e.g. `"3"` or `"3/letters:1"`. */
  readonly key: string;

  constructor(
    /** Root epoch number (0-based pass counter). */
    readonly root: number,
    /** Path of sub-epoch segments, outermost first. */
    readonly path: readonly EpochSegment[] = [],
  ) {
    let key = String(root);
    for (const [node, index] of path) key += `/${node}:${index}`;
    this.key = key;
  }

  /** Number of segments (0 for a root epoch). */
  get depth(): number {
    return this.path.length;
  }

  /** The enclosing epoch, or `undefined` for a root epoch. */
  get parent(): Epoch | undefined {
    return this.path.length === 0 ? undefined : new Epoch(this.root, this.path.slice(0, -1));
  }

  /** The sub-epoch opened by map node `nodeId` for item `index`. */
  child(nodeId: string, index: number): Epoch {
    return new Epoch(this.root, [...this.path, [nodeId, index]]);
  }

  /** The ancestor (or this epoch) with `depth` segments. */
  truncate(depth: number): Epoch {
    return depth >= this.path.length ? this : new Epoch(this.root, this.path.slice(0, depth));
  }

  /** True when `other` is this epoch or one of its sub-epochs. */
  contains(other: Epoch): boolean {
    if (other.root !== this.root || other.path.length < this.path.length) return false;
    return this.path.every(([n, i], k) => other.path[k]?.[0] === n && other.path[k]?.[1] === i);
  }

  /** Negative, zero or positive as this epoch sorts before, with or after `other`. */
  compare(other: Epoch): number {
    if (this.root !== other.root) return this.root - other.root;
    const n = Math.min(this.path.length, other.path.length);
    for (let k = 0; k < n; k++) {
      const a = this.path[k]!;
      const b = other.path[k]!;
      if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
      if (a[1] !== b[1]) return a[1] - b[1];
    }
    return this.path.length - other.path.length;
  }

  /** The msgpack-friendly wire form. */
  toWire(): EpochWire {
    return [this.root, this.path.map(([n, i]) => [n, i])];
  }

  /** Rebuilds an epoch from {@link Epoch.toWire}'s output. */
  static fromWire(wire: EpochWire): Epoch {
    return new Epoch(
      wire[0],
      wire[1].map(([n, i]) => [n, i] as const),
    );
  }

  toString(): string {
    return this.key;
  }
}
