/**
 * Evolution strategies (Salimans et al., 2017) for a linear CartPole policy: antithetic Gaussian
 * perturbations named by seeds, returns turned into centered ranks, and a plain gradient step.
 *
 * The learner and the actors share this file. Perturbations travel as seeds (4 bytes instead of the
 * whole noise vector); each actor rebuilds the noise from the seed, so only parameters and returns cross
 * process boundaries.
 * @module
 */
import { CartPole, episodeReturn, type Policy } from "./cartpole.ts";
import { deriveSeed, gaussianVector, mulberry32 } from "./random.ts";

/** Observation size of CartPole plus one bias weight. */
export const PARAM_COUNT = 5;

/** Settings of a run. */
export interface EsConfig {
  /** Seed of everything random in the run. Default 1. */
  seed: number;
  /** Most iterations before giving up. Default 100. */
  maxIterations: number;
  /** Antithetic pairs in one iteration (split over the actors). Default 32. */
  pairs: number;
  /** Standard deviation of the perturbations. Default 0.1. */
  sigma: number;
  /** Step size of the update. Default 0.05. */
  learningRate: number;
  /** Episodes per evaluation of one perturbation (same start states for every perturbation). Default 2. */
  episodesPerPerturbation: number;
  /** Episodes of the unperturbed policy that must all reach 500 for training to stop early. Default 10. */
  solvedCheckEpisodes: number;
  /** Episodes of the final evaluation. Default 20. */
  evaluationEpisodes: number;
}

/** The defaults of {@link EsConfig}. */
export const DEFAULT_CONFIG: EsConfig = {
  seed: 1,
  maxIterations: 100,
  pairs: 32,
  sigma: 0.1,
  learningRate: 0.05,
  episodesPerPerturbation: 2,
  solvedCheckEpisodes: 10,
  evaluationEpisodes: 20,
};

/** Work for one actor in one iteration. */
export interface EvaluateTask {
  iteration: number;
  sigma: number;
  /** Start-state seeds, shared by every perturbation of the iteration (common random numbers). */
  episodeSeeds: number[];
  /** `[pair index, noise seed]` of each pair to evaluate. */
  pairs: [number, number][];
}

/** An actor's answer: `[pair index, return of θ+σε, return of θ−σε]` per pair. */
export interface EvaluateResult {
  iteration: number;
  results: [number, number, number][];
}

/**
 * The greedy linear policy `action = [w·s + b > 0]`.
 * @example
 * ```ts
 * const policy = linearPolicy(new Float32Array([0, 0, 1, 1, 0]));
 * ```
 */
export function linearPolicy(params: Float32Array): Policy {
  const w0 = params[0]!;
  const w1 = params[1]!;
  const w2 = params[2]!;
  const w3 = params[3]!;
  const b = params[4]!;
  return (s) => (w0 * s[0]! + w1 * s[1]! + w2 * s[2]! + w3 * s[3]! + b > 0 ? 1 : 0);
}

/** Mean return of `params` over the episodes started from `seeds`. */
export function meanReturn(params: Float32Array, seeds: readonly number[], env = new CartPole()): number {
  const policy = linearPolicy(params);
  let total = 0;
  for (const s of seeds) total += episodeReturn(env, policy, s);
  return total / seeds.length;
}

/**
 * Evaluates every antithetic pair of `task` around `params` (what an actor does).
 * @example
 * ```ts
 * const result = evaluateTask(params, { iteration: 0, sigma: 0.1, episodeSeeds: [1, 2], pairs: [[0, 99]] });
 * ```
 */
export function evaluateTask(params: Float32Array, task: EvaluateTask): EvaluateResult {
  const env = new CartPole();
  const probe = new Float32Array(params.length);
  const results: [number, number, number][] = [];
  for (const [index, noiseSeed] of task.pairs) {
    const eps = gaussianVector(noiseSeed, params.length);
    for (let i = 0; i < params.length; i++) probe[i] = params[i]! + task.sigma * eps[i]!;
    const plus = meanReturn(probe, task.episodeSeeds, env);
    for (let i = 0; i < params.length; i++) probe[i] = params[i]! - task.sigma * eps[i]!;
    const minus = meanReturn(probe, task.episodeSeeds, env);
    results.push([index, plus, minus]);
  }
  return { iteration: task.iteration, results };
}

/**
 * Centered ranks of `values` in [-0.5, 0.5] (ties get the mean of their ranks), which makes the update
 * insensitive to the scale of the returns.
 */
export function centeredRanks(values: readonly number[]): Float64Array {
  const n = values.length;
  const order = [...values.keys()].sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  for (let i = 0; i < n; i++) ranks[i] = n > 1 ? ranks[i]! / (n - 1) - 0.5 : 0;
  return ranks;
}

/**
 * The learner's side of ES: proposes perturbations, and updates the parameters from their returns.
 *
 * @example
 * ```ts
 * const es = new EsLearner(DEFAULT_CONFIG);
 * const plan = es.plan(0);
 * es.update(plan.noiseSeeds, results);
 * ```
 */
export class EsLearner {
  readonly params = new Float32Array(PARAM_COUNT);
  private readonly rand: () => number;

  constructor(readonly config: EsConfig) {
    this.rand = mulberry32(config.seed);
  }

  /** Noise seeds (one per pair) and start-state seeds of iteration `iteration`. */
  plan(iteration: number): { noiseSeeds: number[]; episodeSeeds: number[] } {
    const noiseSeeds: number[] = [];
    for (let i = 0; i < this.config.pairs; i++) noiseSeeds.push(Math.floor(this.rand() * 4294967296));
    const episodeSeeds: number[] = [];
    for (let e = 0; e < this.config.episodesPerPerturbation; e++)
      episodeSeeds.push(deriveSeed(this.config.seed, 1, iteration, e));
    return { noiseSeeds, episodeSeeds };
  }

  /** Splits the pairs of a plan into one task per actor (round robin, so every actor gets a share). */
  tasks(
    iteration: number,
    noiseSeeds: readonly number[],
    episodeSeeds: number[],
    actors: number,
  ): EvaluateTask[] {
    const tasks: EvaluateTask[] = [];
    for (let a = 0; a < actors; a++)
      tasks.push({ iteration, sigma: this.config.sigma, episodeSeeds, pairs: [] });
    noiseSeeds.forEach((seed, index) => tasks[index % actors]!.pairs.push([index, seed]));
    return tasks;
  }

  /**
   * Applies one ES step from the actors' results (in any order: they are sorted by pair index, so the
   * update does not depend on which actor answered first). Returns the mean and best perturbed return.
   */
  update(noiseSeeds: readonly number[], results: readonly EvaluateResult[]): { mean: number; best: number } {
    const plus = new Array<number>(noiseSeeds.length).fill(Number.NaN);
    const minus = new Array<number>(noiseSeeds.length).fill(Number.NaN);
    for (const r of results)
      for (const [index, p, m] of r.results) {
        plus[index] = p;
        minus[index] = m;
      }
    if (plus.some(Number.isNaN) || minus.some(Number.isNaN))
      throw new Error("update: results are missing for some perturbations");
    const ranks = centeredRanks([...plus, ...minus]);
    const n = noiseSeeds.length;
    const grad = new Float64Array(this.params.length);
    for (let i = 0; i < n; i++) {
      const weight = ranks[i]! - ranks[n + i]!;
      const eps = gaussianVector(noiseSeeds[i]!, this.params.length);
      for (let k = 0; k < grad.length; k++) grad[k] = grad[k]! + weight * eps[k]!;
    }
    const scale = this.config.learningRate / (n * this.config.sigma);
    for (let k = 0; k < grad.length; k++) this.params[k] = this.params[k]! + scale * grad[k]!;
    const all = [...plus, ...minus];
    return { mean: all.reduce((a, b) => a + b, 0) / all.length, best: Math.max(...all) };
  }

  /** True when the current policy reaches 500 on every solved-check episode of this iteration. */
  solved(iteration: number): boolean {
    const seeds = [...Array(this.config.solvedCheckEpisodes).keys()].map((e) =>
      deriveSeed(this.config.seed, 2, iteration, e),
    );
    return meanReturn(this.params, seeds) >= 500;
  }

  /** Mean return of the current policy over the evaluation episodes (start states never used in training). */
  evaluate(): number {
    const seeds = [...Array(this.config.evaluationEpisodes).keys()].map((e) =>
      deriveSeed(this.config.seed, 3, e),
    );
    return meanReturn(this.params, seeds);
  }
}

/**
 * The whole algorithm in one process (perturbations split as among `actors` actors): the reference the
 * distributed run must reproduce, and the baseline of its benchmark.
 * @example
 * ```ts
 * const { es, iterations } = trainInProcess(1);
 * es.evaluate(); // ≥ 475
 * ```
 */
export function trainInProcess(seed: number, actors = 4): { es: EsLearner; iterations: number } {
  const es = new EsLearner({ ...DEFAULT_CONFIG, seed });
  let iterations = 0;
  for (let it = 0; it < es.config.maxIterations; it++) {
    iterations = it + 1;
    const { noiseSeeds, episodeSeeds } = es.plan(it);
    es.update(
      noiseSeeds,
      es.tasks(it, noiseSeeds, episodeSeeds, actors).map((t) => evaluateTask(es.params, t)),
    );
    if (es.solved(it)) break;
  }
  return { es, iterations };
}
