// Nodes of the example tubes.

/** Counter source: 0, 1, 2, … */
export function* counter(): Generator<number> {
  for (let i = 0; ; i++) yield i;
}

/** Adds one. */
export function increment(x: number): number {
  return x + 1;
}

/** Upper-cases one letter. */
export function upper(letter: string): string {
  return letter.toUpperCase();
}

/** Joins gathered letters into a word. */
export function join(letters: string[]): string {
  return letters.join("");
}

/** Source of sine frames: one Float32Array of `size` samples per epoch. */
export function* sine(params: { size?: number; frequency?: number } = {}): Generator<Float32Array> {
  const size = params.size ?? 1024;
  const frequency = params.frequency ?? 0.01;
  for (let frame = 0; ; frame++) {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.sin(2 * Math.PI * frequency * (frame * size + i));
    yield out;
  }
}

/** Multiplies every sample by `gain`. */
export function gain(frame: Float32Array, opts: { gain?: number } = {}): Float32Array {
  const g = opts.gain ?? 1;
  const out = new Float32Array(frame.length);
  for (let i = 0; i < frame.length; i++) out[i] = frame[i]! * g;
  return out;
}

/** Root mean square of a frame. */
export function rms(frame: Float32Array): number {
  let sum = 0;
  for (const x of frame) sum += x * x;
  return Math.sqrt(sum / frame.length);
}

/** Peak absolute value of a frame. */
export function peak(frame: Float32Array): number {
  let m = 0;
  for (const x of frame) m = Math.max(m, Math.abs(x));
  return m;
}

/** Source of fixed-size frames (`params.samples` floats, default 262 144 = 1 MiB), reused every epoch. */
export function* frames(params: { samples?: number } = {}): Generator<Float32Array> {
  const frame = new Float32Array(params.samples ?? 262_144).fill(0.5);
  for (;;) yield frame;
}

/** Passes its input through unchanged. */
export function passThrough<T>(x: T): T {
  return x;
}

/** Length of a frame. */
export function frameLength(frame: Float32Array): number {
  return frame.length;
}
