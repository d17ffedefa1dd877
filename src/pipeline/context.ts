/**
 * The per-step context handed to every middleware, and DI-engine's two ready-made kinds.
 * @module
 */
import { ConfigError } from "../core/errors.ts";

const RESERVED = new Set([
  "totalStep",
  "renew",
  "keep",
  "release",
  "keptKeys",
  "get",
  "set",
  "has",
  "setDefault",
  "delete",
  "keys",
  "constructor",
]);

/**
 * Data shared by the middlewares of one step. Each step gets a fresh context from {@link Context.renew}:
 * `totalStep` goes up by one and only the *kept* keys are copied over.
 *
 * Kept keys stay kept until {@link Context.release} (DI-engine keeps them for one renewal only and
 * relies on `__post_init__` to re-keep its permanent fields). weft keeps them until released because a
 * middleware usually calls `keep` once, at set-up; dropping the key silently after one step is a bug
 * that shows up late and far from its cause.
 *
 * Values are plain own properties, so subclasses can declare typed fields (see {@link OnlineRLContext})
 * and `ctx.get("x")` / `ctx.x` are the same thing. The type parameter types `get`/`set` for free-form keys.
 * @example
 * ```ts
 * const ctx = new Context<{ data: number[] }>();
 * ctx.set("data", [1, 2]);
 * ctx.keep("data");
 * const next = ctx.renew(); // next.totalStep === 1, next.get("data") is [1, 2]
 * ```
 */
export class Context<S extends object = Record<string, any>> {
  /** Number of renewals since the first context: the step number. */
  totalStep = 0;
  // A private field, so `keys()` lists user data only; created on first use, as most steps keep nothing
  // and a context is made on every step.
  #kept: Set<string> | undefined;

  /** Keys copied into the next context by `renew`. */
  get keptKeys(): Set<string> {
    return (this.#kept ??= new Set<string>());
  }

  /** Value of `key`, or `undefined`. */
  get<K extends keyof S & string>(key: K): S[K] | undefined {
    return (this as any)[key] as S[K] | undefined;
  }

  /** Sets `key` to `value`. Method names and `totalStep` cannot be set this way (ConfigError). */
  set<K extends keyof S & string>(key: K, value: S[K]): this {
    if (RESERVED.has(key)) throw new ConfigError(`"${key}" is a Context member; choose another key name`);
    (this as any)[key] = value;
    return this;
  }

  /** Sets `key` only when it has no value yet, and returns the value now stored (Python's `setdefault`). */
  setDefault<K extends keyof S & string>(key: K, value: S[K]): S[K] {
    const current = (this as any)[key] as S[K] | undefined;
    if (current !== undefined) return current;
    this.set(key, value);
    return value;
  }

  /** True when `key` has a value. */
  has(key: string): boolean {
    return (this as any)[key] !== undefined;
  }

  /** Removes `key`. */
  delete(key: keyof S & string): boolean {
    return delete (this as any)[key];
  }

  /** The keys that have values (totalStep included). */
  keys(): string[] {
    return Object.keys(this).filter((k) => (this as any)[k] !== undefined);
  }

  /** Marks keys to be copied into every following context until {@link Context.release}d. */
  keep(...keys: Array<(keyof S & string) | (keyof this & string)>): this {
    for (const k of keys) this.keptKeys.add(k);
    return this;
  }

  /** Stops copying these keys on renewal. */
  release(...keys: string[]): this {
    for (const k of keys) this.keptKeys.delete(k);
    return this;
  }

  /**
   * A new context of the same class for the next step: `totalStep + 1`, kept keys copied (by
   * reference), everything else at its default.
   */
  renew(): this {
    const Ctor = this.constructor as new () => this;
    const next = new Ctor();
    const kept = this.#kept;
    if (kept !== undefined && kept.size > 0)
      for (const k of kept) {
        next.keptKeys.add(k);
        const v = (this as any)[k];
        if (v !== undefined) (next as any)[k] = v;
      }
    next.totalStep = this.totalStep + 1;
    return next;
  }
}

/**
 * Context of online RL training (collect → train → evaluate), with DI-engine's fields. `envStep`,
 * `envEpisode`, `trainIter`, `lastEvalIter`, `lastEvalValue` and `wandbUrl` are kept permanently.
 * @example
 * ```ts
 * task.start({ ctx: new OnlineRLContext() });
 * task.use((ctx: OnlineRLContext) => { ctx.envStep += 8; });
 * ```
 */
export class OnlineRLContext extends Context {
  envStep = 0;
  envEpisode = 0;
  trainIter = 0;
  trainData: unknown = undefined;
  trainOutput: unknown = undefined;
  collectKwargs: Record<string, unknown> = {};
  obs: unknown = undefined;
  action: unknown = undefined;
  inferenceOutput: unknown = undefined;
  trajectories: unknown[] | undefined = undefined;
  episodes: unknown[] | undefined = undefined;
  trajectoryEndIdx: number[] = [];
  evalValue = -Infinity;
  lastEvalIter = -1;
  lastEvalValue = -Infinity;
  evalOutput: Record<string, unknown> = {};
  wandbUrl = "";

  constructor() {
    super();
    this.keep("envStep", "envEpisode", "trainIter", "lastEvalIter", "lastEvalValue", "wandbUrl");
  }
}

/**
 * Context of offline RL training (train on a fixed dataset → evaluate), with DI-engine's fields.
 * `trainIter`, `lastEvalIter`, `lastEvalValue` and `wandbUrl` are kept permanently.
 * @example
 * ```ts
 * task.start({ ctx: new OfflineRLContext() });
 * ```
 */
export class OfflineRLContext extends Context {
  trainedEnvStep = 0;
  trainEpoch = 0;
  trainIter = 0;
  trainData: unknown = undefined;
  trainOutput: unknown = undefined;
  evalValue = -Infinity;
  lastEvalIter = -1;
  lastEvalValue = -Infinity;
  evalOutput: Record<string, unknown> = {};
  wandbUrl = "";

  constructor() {
    super();
    this.keep("trainIter", "lastEvalIter", "lastEvalValue", "wandbUrl");
  }
}
