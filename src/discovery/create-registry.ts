/**
 * Builds a registry from the `discovery` option of a component.
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import { LocalRegistry, type LocalRegistryOptions } from "./local-registry.ts";
import { RedisRegistry, type RedisRegistryOptions } from "./redis-registry.ts";
import type { MemberInfo, Registry } from "./registry.ts";
import { StaticRegistry } from "./static-registry.ts";

/**
 * The `discovery` option: which registry a component uses. Default `{ type: "local" }`.
 * @example
 * ```ts
 * const discovery: DiscoveryOptions = { type: "redis", url: "redis://127.0.0.1:6379", keyPrefix: "myapp:" };
 * const registry = await createRegistry(discovery);
 * ```
 */
export type DiscoveryOptions =
  | ({ type: "local" } & LocalRegistryOptions)
  | ({ type: "redis" } & RedisRegistryOptions)
  | { type: "static"; members: MemberInfo[] };

/**
 * Creates (and for Redis, connects) the registry described by `options`. A `redis://` URL string is
 * accepted as a shorthand.
 * @example
 * ```ts
 * const registry = await createRegistry({ type: "redis", url: "redis://127.0.0.1:6379" });
 * ```
 */
export async function createRegistry(
  options: DiscoveryOptions | string | undefined,
  logger?: LoggerLike,
): Promise<Registry> {
  const opts: DiscoveryOptions =
    typeof options === "string"
      ? options.startsWith("redis://") || options.startsWith("rediss://")
        ? { type: "redis", url: options }
        : options === "local"
          ? { type: "local" }
          : (() => {
              throw new ConfigError(`discovery ${JSON.stringify(options)} is not "local" or a redis:// URL`);
            })()
      : (options ?? { type: "local" });
  const withLogger = <T extends object>(o: T): T => (logger ? { ...o, logger } : o);
  switch (opts.type) {
    case "local":
      return new LocalRegistry(withLogger(opts));
    case "redis":
      return RedisRegistry.connect(withLogger(opts));
    case "static":
      return new StaticRegistry(opts.members);
    default:
      throw new ConfigError(
        `discovery type ${JSON.stringify((opts as { type: unknown }).type)} is not "local", "redis" or "static"`,
      );
  }
}
