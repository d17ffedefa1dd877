/**
 * `JobContext`: what a component started by `weft launch` knows about itself and its job.
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { LogLevel } from "../core/logger-levels.ts";
import { Proxy } from "../proxy/proxy.ts";
import type { ProxyOptions } from "../proxy/options.ts";
import { JOB_ENV } from "./env.ts";

/**
 * Options of {@link JobContext.createProxy}: the Proxy options the job does not already fix.
 * @example
 * ```ts
 * const proxy = await ctx.createProxy({ expectedPeers: { learner: 1 }, driver: { protocol: "tcp" } });
 * ```
 */
export type JobProxyOptions = Omit<
  ProxyOptions,
  "groupName" | "componentType" | "componentName" | "expectedPeers"
> & {
  /** Peers to wait for. Default: every other process of the job (all types, their full counts). */
  expectedPeers?: Record<string, number>;
};

/**
 * Passed to a component's `main(ctx)`. The same facts are in the environment ({@link JOB_ENV}) for
 * programs that are not TypeScript modules.
 *
 * @example
 * ```ts
 * export async function main(ctx: JobContext): Promise<void> {
 *   const proxy = await ctx.createProxy({ expectedPeers: { learner: 1 } });
 *   for await (const msg of proxy.receive()) await proxy.reply(msg, { payload: work(msg.payload) });
 * }
 * ```
 */
export interface JobContext {
  /** Group name. */
  readonly group: string;
  /** Component type, e.g. `actor`. */
  readonly type: string;
  /** Stable name, e.g. `actor.2`: a restarted component gets the same name, so peers' rejoin caches reach it. */
  readonly name: string;
  /** Index within the type (0-based). */
  readonly index: number;
  /** Restarts before this run (0 on the first run). */
  readonly restartCount: number;
  /** `local` or a `redis://` URL; pass to `Proxy.create({ discovery })`. */
  readonly discovery: string;
  /** Processes per component type in the job, e.g. `{ learner: 1, actor: 4 }`. */
  readonly components: Readonly<Record<string, number>>;
  /** The component's `args` from the job file. */
  readonly args: readonly string[];
  /** A logger tagged with the component name (INFO and above to stdout; `LOG_LEVEL` overrides). */
  readonly logger: LoggerLike;
  /** Aborted when the launcher stops the job (SIGTERM/SIGINT): finish and return. */
  readonly signal: AbortSignal;
  /** Names of the components of `type`, e.g. `["actor.0", …, "actor.3"]`. */
  peerNames(type: string): string[];
  /**
   * Joins the job's group with this component's type, name and discovery, and registers the proxy for
   * metrics reporting and for closing when the job stops.
   */
  createProxy(options?: JobProxyOptions): Promise<Proxy>;
}

/** Hooks the child entry point installs: metrics reporting and cleanup of proxies. */
export interface ProxyHooks {
  onProxy(proxy: Proxy): void;
}

function need(env: NodeJS.ProcessEnv, key: string): string {
  const v = env[key];
  if (v === undefined || v === "")
    throw new ConfigError(
      `environment variable ${key} is missing: start this program with "weft launch JOB.yaml"`,
    );
  return v;
}

/**
 * Builds the {@link JobContext} of this process from the environment `weft launch` set.
 * @throws {ConfigError} when a variable is missing or malformed (the process was not started by `weft launch`).
 * @example
 * ```ts
 * const ctx = jobContextFromEnv(); // in a program started by weft launch
 * console.log(ctx.name); // "actor.2"
 * ```
 */
export function jobContextFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  signal: AbortSignal = new AbortController().signal,
  hooks?: ProxyHooks,
): JobContext {
  const group = need(env, JOB_ENV.group);
  const type = need(env, JOB_ENV.type);
  const name = need(env, JOB_ENV.name);
  const index = Number(need(env, JOB_ENV.index));
  const restartCount = Number(env[JOB_ENV.restartCount] ?? "0");
  const discovery = env[JOB_ENV.discovery] || "local";
  let components: Record<string, number>;
  let args: string[];
  try {
    components = JSON.parse(need(env, JOB_ENV.components)) as Record<string, number>;
    args = JSON.parse(env[JOB_ENV.args] ?? "[]") as string[];
  } catch (err) {
    throw new ConfigError(`${JOB_ENV.components} or ${JOB_ENV.args} is not valid JSON`, { cause: err });
  }
  const logger = new InternalLogger(name, { stdoutLevel: LogLevel.INFO });
  const ctx: JobContext = {
    group,
    type,
    name,
    index,
    restartCount,
    discovery,
    components,
    args,
    logger,
    signal,
    peerNames: (t) => [...Array(components[t] ?? 0).keys()].map((i) => `${t}.${i}`),
    async createProxy(options: JobProxyOptions = {}) {
      const expectedPeers = options.expectedPeers ?? defaultExpected(components, type);
      const proxy = await Proxy.create({
        discovery,
        logger,
        ...options,
        expectedPeers,
        groupName: group,
        componentType: type,
        componentName: name,
      });
      hooks?.onProxy(proxy);
      return proxy;
    },
  };
  return ctx;
}

/** Every other process of the job: all types, with this process removed from its own type. */
function defaultExpected(components: Record<string, number>, self: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [t, n] of Object.entries(components)) {
    const count = t === self ? n - 1 : n;
    if (count > 0) out[t] = count;
  }
  return out;
}
