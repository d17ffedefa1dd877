/**
 * The compute of the DQN example, stubbed by small deterministic functions: what matters here is the
 * shape of the traffic (who sends what, how big, how often), not the learning.
 * @module
 */

/** Floats of the model: 34 816 × 4 B = 136 KiB, DI-engine's small DQN on CartPole-sized inputs. */
export const MODEL_FLOATS = 34_816;
/** Floats of one collector batch: 512 × 4 B = 2 KiB of transitions. */
export const BATCH_FLOATS = 512;

/**
 * The transitions collector `collector` gathers at `step`: deterministic, so the learner can check them.
 * @example
 * ```ts
 * collect(2, 0)[0]; // 2
 * ```
 */
export function collect(collector: number, step: number, zeroCompute = false): Float32Array {
  const out = new Float32Array(BATCH_FLOATS);
  out[0] = collector;
  out[1] = step;
  if (zeroCompute) return out;
  for (let i = 2; i < BATCH_FLOATS; i++) out[i] = ((collector * 31 + step * 7 + i) % 97) / 97;
  return out;
}

/**
 * True when `batch` is exactly what {@link collect} gives for (collector, step).
 * @example
 * ```ts
 * isBatchOf(collect(2, 5), 2, 5); // true
 * ```
 */
export function isBatchOf(
  batch: Float32Array,
  collector: number,
  step: number,
  zeroCompute = false,
): boolean {
  if (batch.length !== BATCH_FLOATS) return false;
  const want = collect(collector, step, zeroCompute);
  for (let i = 0; i < BATCH_FLOATS; i++) if (batch[i] !== want[i]) return false;
  return true;
}

/**
 * One training iteration: nudges the weights with the batches' means (in place) and stamps the version
 * in weight 0.
 * @example
 * ```ts
 * const w = new Float32Array(MODEL_FLOATS); train(w, [collect(2, 0)], 1); w[0]; // 1
 * ```
 */
export function train(
  weights: Float32Array,
  batches: Float32Array[],
  version: number,
  zeroCompute = false,
): void {
  weights[0] = version;
  if (zeroCompute) return;
  let mean = 0;
  for (const b of batches) for (let i = 2; i < b.length; i++) mean += b[i] as number;
  mean /= Math.max(1, batches.length * (BATCH_FLOATS - 2));
  for (let i = 16; i < weights.length; i += 64) weights[i] = (weights[i] as number) * 0.99 + mean * 0.01;
}

/**
 * Sum of the weights, sent with each model so receivers can check it arrived intact.
 * @example
 * ```ts
 * checksum(new Float32Array([1, 2])); // 3
 * ```
 */
export function checksum(weights: Float32Array): number {
  let s = 0;
  for (let i = 0; i < weights.length; i += 16) s += weights[i] as number;
  return s;
}

/**
 * The evaluator's score of a model (deterministic).
 * @example
 * ```ts
 * evaluate(new Float32Array(MODEL_FLOATS)); // 0
 * ```
 */
export function evaluate(weights: Float32Array): number {
  return checksum(weights) - (weights[0] as number);
}
