/**
 * A fixed ring of values indexed by the counter of an id this process made (`ownIdSequence`).
 * @module
 */

/**
 * Values for recent sessions this process started, each in the slot its id's counter picks. Looking one up
 * costs an array read instead of hashing a fresh id string, and the ring holds counters, not id strings (an
 * id kept here would outlive V8's young generation). A newer session whose slot is taken either replaces
 * the older one (`set`) or is refused (`setIfFree`), as the caller needs. Every method takes the counter
 * from `ownIdSequence(id)`, computed once by the caller.
 * @example
 * ```ts
 * const ring = new OwnSessionRing<string>(12);
 * const seq = ownIdSequence(message.sessionId); // -1 for ids made elsewhere
 * if (seq >= 0) ring.set(seq, message.destination);
 * ring.get(seq); // "worker.0"
 * ring.delete(seq);
 * ```
 */
export class OwnSessionRing<T> {
  /** Entries held. */
  size = 0;
  private readonly mask: number;
  /** The counter of the session in each slot, or -1. */
  private readonly seqs: Float64Array;
  private readonly slots: (T | undefined)[];

  /** A ring of 2^`bits` slots. */
  constructor(bits: number) {
    this.mask = (1 << bits) - 1;
    this.seqs = new Float64Array(this.mask + 1).fill(-1);
    this.slots = new Array<T | undefined>(this.mask + 1);
  }

  /** The value of session `seq`, or undefined (never stored, deleted, or its slot taken by another). */
  get(seq: number): T | undefined {
    const slot = seq & this.mask;
    return this.seqs[slot] === seq ? this.slots[slot] : undefined;
  }

  /** Stores `value` for session `seq`, replacing whatever its slot held. */
  set(seq: number, value: T): void {
    const slot = seq & this.mask;
    if (this.slots[slot] === undefined) this.size++;
    this.seqs[slot] = seq;
    this.slots[slot] = value;
  }

  /** Stores `value` for session `seq` if its slot is empty; false (nothing stored) otherwise. */
  setIfFree(seq: number, value: T): boolean {
    if (this.slots[seq & this.mask] !== undefined) return false;
    this.set(seq, value);
    return true;
  }

  /** Removes session `seq`'s value (only if it is `value`, when given); false when there was none. */
  delete(seq: number, value?: T): boolean {
    const slot = seq & this.mask;
    const held = this.slots[slot];
    if (held === undefined || this.seqs[slot] !== seq || (value !== undefined && held !== value))
      return false;
    this.seqs[slot] = -1;
    this.slots[slot] = undefined;
    this.size--;
    return true;
  }

  /** The values held, in slot order. */
  *values(): IterableIterator<T> {
    if (this.size === 0) return;
    for (const value of this.slots) if (value !== undefined) yield value;
  }
}
