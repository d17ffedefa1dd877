/**
 * Options of a {@link Proxy} and their defaults.
 * @module
 */
import { ConfigError, PeersMissError } from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import type { DiscoveryOptions } from "../discovery/create-registry.ts";
import type { DriverOptions } from "../transport/driver.ts";

/**
 * Options of `Proxy.create`. Durations are in milliseconds.
 * @example
 * ```ts
 * const options: ProxyOptions = {
 *   groupName: "job",
 *   componentType: "worker",
 *   expectedPeers: { master: 1 },
 *   discovery: { type: "local" },
 *   defaultTimeoutMs: 5000,
 * };
 * const proxy = await Proxy.create(options);
 * ```
 */
export interface ProxyOptions {
  /** Name of the group (job) the component belongs to. */
  groupName: string;
  /** This component's type, e.g. `"worker"`. */
  componentType: string;
  /** How many peers of each type must be alive before `create` resolves, e.g. `{ worker: 2 }`. */
  expectedPeers: Record<string, number>;
  /** This component's name, unique in the group. Default `<componentType>.<random>`. */
  componentName?: string;
  /** Socket options (protocol, host, timeouts, high-water mark, CURVE). */
  driver?: DriverOptions;
  /** Discovery: `{ type: "local" }` (default), `{ type: "redis", url }`, `{ type: "static", members }`. */
  discovery?: DiscoveryOptions | string;
  /** Discovery polls before `create` gives up with InformationUncompletedError. Default 10. */
  maxRetries?: number;
  /** First discovery retry interval; doubles after each poll. Default 100. */
  retryIntervalBaseMs?: number;
  /** Deadline for expected peers to become able to receive broadcasts after discovery. Default 30 000. */
  handshakeTimeoutMs?: number;
  /** Keep working when peers fail, and take them back when they restart under the same name. Default false. */
  enableRejoin?: boolean;
  /** Live peers of a type required before sending to it (rejoin mode); a number or one per type. Default 0. */
  minimalPeers?: number | Record<string, number>;
  /** How long to wait for `minimalPeers` before PeersRejoinTimeout. Default 10 000. */
  timeoutForMinimalPeerNumberMs?: number;
  /** How long a failed peer's cached messages are kept before the peer is forgotten. Default 600 000. */
  peersCatchLifetimeMs?: number;
  /** Cache messages sent to failed peers and deliver them when they rejoin. Default false. */
  enableMessageCacheForRejoin?: boolean;
  /** Messages cached per failed peer; older ones are dropped (counted). Default 1024. */
  maxLengthForMessageCache?: number;
  /** Times one peer name may rejoin. Default unlimited. */
  maxRejoinTimes?: number;
  /** Messages kept for `receive()` before reading pauses (backpressure); one receive of coalesced messages may pass it by up to 63. Default 65 536. */
  maxInboxSize?: number;
  /** Largest message this proxy sends or accepts, in bytes. Default 1 GiB. */
  maxMessageBytes?: number;
  /** Default deadline of calls that wait for replies. Default none (wait until peers die). */
  defaultTimeoutMs?: number;
  /** Logger (default: quiet internal logger). */
  logger?: LoggerLike;
}

/**
 * Options with defaults filled in.
 * @example
 * ```ts
 * const resolved: ResolvedProxyOptions = resolveProxyOptions(
 *   { groupName: "job", componentType: "worker", expectedPeers: { master: 1 } },
 *   "a1b2",
 * );
 * resolved.maxRetries; // 10
 * ```
 */
export type ResolvedProxyOptions = Required<
  Omit<ProxyOptions, "discovery" | "logger" | "defaultTimeoutMs" | "maxRejoinTimes" | "componentName">
> &
  Pick<ProxyOptions, "discovery" | "logger" | "defaultTimeoutMs"> & {
    componentName: string;
    maxRejoinTimes: number;
  };

function positive(name: string, value: number | undefined, allowZero = false): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(
      `${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${String(value)}`,
    );
  }
}

/**
 * Validates options and fills in defaults; throws ConfigError / PeersMissError naming the bad option.
 * @example
 * ```ts
 * resolveProxyOptions({ groupName: "job", componentType: "worker", expectedPeers: { master: 1 } }, "a1b2")
 *   .componentName; // "worker.a1b2"
 * resolveProxyOptions({ groupName: "job", componentType: "worker", expectedPeers: {} }, "a1b2"); // throws PeersMissError
 * ```
 */
export function resolveProxyOptions(options: ProxyOptions, randomSuffix: string): ResolvedProxyOptions {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("Proxy.create needs an options object");
  for (const key of ["groupName", "componentType"] as const) {
    if (typeof options[key] !== "string" || options[key].length === 0) {
      throw new ConfigError(`${key} must be a non-empty string`);
    }
  }
  const expected = options.expectedPeers;
  if (typeof expected !== "object" || expected === null || Object.keys(expected).length === 0) {
    throw new PeersMissError(
      `expectedPeers is empty for ${options.componentType}: name the peer types and counts to wait for, e.g. { worker: 2 }`,
    );
  }
  for (const [type, n] of Object.entries(expected)) {
    if (!Number.isInteger(n) || n < 1)
      throw new ConfigError(`expectedPeers.${type} must be an integer ≥ 1, got ${String(n)}`);
  }
  positive("maxRetries", options.maxRetries, true);
  positive("retryIntervalBaseMs", options.retryIntervalBaseMs);
  positive("handshakeTimeoutMs", options.handshakeTimeoutMs);
  positive("timeoutForMinimalPeerNumberMs", options.timeoutForMinimalPeerNumberMs, true);
  positive("peersCatchLifetimeMs", options.peersCatchLifetimeMs);
  positive("maxLengthForMessageCache", options.maxLengthForMessageCache);
  positive("maxInboxSize", options.maxInboxSize);
  positive("maxMessageBytes", options.maxMessageBytes);
  positive("defaultTimeoutMs", options.defaultTimeoutMs);
  positive("maxRejoinTimes", options.maxRejoinTimes, true);
  const resolved: ResolvedProxyOptions = {
    groupName: options.groupName,
    componentType: options.componentType,
    expectedPeers: { ...expected },
    componentName: options.componentName ?? `${options.componentType}.${randomSuffix}`,
    driver: options.driver ?? {},
    maxRetries: options.maxRetries ?? 10,
    retryIntervalBaseMs: options.retryIntervalBaseMs ?? 100,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    enableRejoin: options.enableRejoin ?? false,
    minimalPeers: options.minimalPeers ?? 0,
    timeoutForMinimalPeerNumberMs: options.timeoutForMinimalPeerNumberMs ?? 10_000,
    peersCatchLifetimeMs: options.peersCatchLifetimeMs ?? 600_000,
    enableMessageCacheForRejoin: options.enableMessageCacheForRejoin ?? false,
    maxLengthForMessageCache: options.maxLengthForMessageCache ?? 1024,
    maxRejoinTimes: options.maxRejoinTimes ?? Number.POSITIVE_INFINITY,
    maxInboxSize: options.maxInboxSize ?? 65_536,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024 * 1024,
  };
  if (options.discovery !== undefined) resolved.discovery = options.discovery;
  if (options.logger !== undefined) resolved.logger = options.logger;
  if (options.defaultTimeoutMs !== undefined) resolved.defaultTimeoutMs = options.defaultTimeoutMs;
  return resolved;
}
