/**
 * CartPole-v1 in TypeScript, with the standard (Gym / Gymnasium) dynamics: Euler integration every 0.02 s,
 * the episode ends when the pole leans past 12° or the cart leaves ±2.4, and is truncated at 500 steps.
 * Reward is 1 per step, so an episode's return is its length.
 * @module
 */
import { mulberry32 } from "./random.ts";

const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_CART + MASS_POLE;
const HALF_LENGTH = 0.5;
const POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02;
const THETA_LIMIT = (12 * 2 * Math.PI) / 360;
const X_LIMIT = 2.4;
/** Steps after which CartPole-v1 truncates an episode. */
export const MAX_STEPS = 500;

/** Chooses an action (0 = push left, 1 = push right) from the state `[x, ẋ, θ, θ̇]`. */
export type Policy = (state: Float64Array) => 0 | 1;

/**
 * One CartPole-v1 environment.
 *
 * @example
 * ```ts
 * const env = new CartPole();
 * let state = env.reset(42);
 * for (let done = false; !done; ) ({ state, done } = env.step(state[2]! > 0 ? 1 : 0));
 * ```
 */
export class CartPole {
  readonly state = new Float64Array(4);
  private steps = 0;

  /** Starts an episode: each state variable uniform in [-0.05, 0.05), drawn from `seed`. */
  reset(seed: number): Float64Array {
    const rand = mulberry32(seed);
    for (let i = 0; i < 4; i++) this.state[i] = rand() * 0.1 - 0.05;
    this.steps = 0;
    return this.state;
  }

  /** Applies `action`; `done` is true when the episode terminated or reached {@link MAX_STEPS}. */
  step(action: 0 | 1): { state: Float64Array; reward: number; done: boolean } {
    const s = this.state;
    const x = s[0]!;
    const xDot = s[1]!;
    const theta = s[2]!;
    const thetaDot = s[3]!;
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + POLE_MASS_LENGTH * thetaDot * thetaDot * sin) / TOTAL_MASS;
    const thetaAcc =
      (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - (MASS_POLE * cos * cos) / TOTAL_MASS));
    const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
    s[0] = x + TAU * xDot;
    s[1] = xDot + TAU * xAcc;
    s[2] = theta + TAU * thetaDot;
    s[3] = thetaDot + TAU * thetaAcc;
    this.steps++;
    const terminated = s[0] < -X_LIMIT || s[0] > X_LIMIT || s[2] < -THETA_LIMIT || s[2] > THETA_LIMIT;
    return { state: s, reward: 1, done: terminated || this.steps >= MAX_STEPS };
  }
}

/**
 * Runs one episode of `policy` from the start state drawn from `seed`; resolves to its return.
 * @example
 * ```ts
 * const ret = episodeReturn(new CartPole(), (s) => (s[2]! + s[3]! > 0 ? 1 : 0), 7);
 * ```
 */
export function episodeReturn(env: CartPole, policy: Policy, seed: number): number {
  let state = env.reset(seed);
  let total = 0;
  for (let done = false; !done;) {
    const r = env.step(policy(state));
    state = r.state;
    total += r.reward;
    done = r.done;
  }
  return total;
}
