/**
 * Discovery through Redis, for groups that span machines.
 *
 * Layout (every key starts with `keyPrefix`, default `"weft:"`):
 * - `<p><group>:types` — a set of the component types seen in the group;
 * - `<p><group>:<type>` — a hash, field = component name, value = the member as JSON (as MARO kept it);
 * - `<p><group>:hb:<name>` — the member's incarnation id, with an expiry of `3 × heartbeatMs`, refreshed
 *   every heartbeat; a member whose key expired (a killed process) is never listed;
 * - `<p><group>:events` — a pub/sub channel announcing joins and leaves, so watchers react at once.
 * A member that left without unregistering (SIGKILL, power loss) keeps its hash field until a `list` of
 * the group finds its heartbeat key expired and removes it (atomically, and only that incarnation's), so
 * restarts do not pile up dead entries.
 * Every heartbeat writes the hash field again, so a restarted Redis (which lost everything) is repopulated
 * within one heartbeat and new members can keep joining.
 * @module
 */
import type { Redis } from "ioredis";
import { RedisConnectionError, ConfigError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { loadRedis } from "./load-ioredis.ts";
import { MembershipWatcher } from "./membership-watcher.ts";
import type { HeartbeatOptions, MemberInfo, MembershipListener, Registry } from "./registry.ts";

// KEYS: heartbeat key, type hash, types set; ARGV: name, type, incarnation.
const UNREGISTER_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[3] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[1])
end
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return 1
`;

// Removes the hash field of a member whose heartbeat key has expired (a killed process), if the field
// still holds that incarnation. KEYS: heartbeat key, type hash, types set; ARGV: name, type, incarnation.
const PRUNE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local text = redis.call('HGET', KEYS[2], ARGV[1])
if text == false then return 0 end
local ok, entry = pcall(cjson.decode, text)
if ok and type(entry) == 'table' and entry.incarnation ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return 1
`;

/**
 * Options of {@link RedisRegistry}.
 * @example
 * ```ts
 * const options: RedisRegistryOptions = { url: "redis://127.0.0.1:6379", keyPrefix: "myapp:", connectRetries: 5 };
 * const registry = await RedisRegistry.connect(options);
 * ```
 */
export interface RedisRegistryOptions extends HeartbeatOptions {
  /** Redis URL. Default `REDIS_URL` or `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prefix of every key. Default `"weft:"`. */
  keyPrefix?: string;
  /** Attempts to connect before failing with RedisConnectionError. Default 3. */
  connectRetries?: number;
  /** Deadline of one connection attempt, in ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Logger. */
  logger?: LoggerLike;
  /**
   * Remove the entries of members whose heartbeat expired when a listing finds them. Default true; an
   * inspection tool that must not change the registry (`weft peers`) turns it off.
   */
  pruneExpired?: boolean;
}

/**
 * Discovery through Redis.
 *
 * @example
 * ```ts
 * const registry = await RedisRegistry.connect({ url: "redis://127.0.0.1:6379" });
 * await registry.register(member);
 * ```
 */
export class RedisRegistry implements Registry {
  readonly kind = "redis";
  readonly heartbeatMs: number;
  private readonly pruneExpired: boolean;
  private readonly prefix: string;
  private readonly own = new Map<string, { member: MemberInfo; timer: NodeJS.Timeout }>();
  private readonly watchers = new Map<string, Set<MembershipWatcher>>();
  private subscriber: Redis | undefined;
  private closed = false;
  private lastError = "";
  /** Until this time, watchers report no membership change (Redis came back and may have lost every key). */
  private holdUntil = 0;

  private constructor(
    /** The ioredis client class (loaded by `connect`), for the subscriber made later. */
    private readonly Client: typeof Redis,
    private readonly redis: Redis,
    private readonly url: string,
    options: RedisRegistryOptions,
    private readonly log: LoggerLike,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.pruneExpired = options.pruneExpired ?? true;
    this.prefix = options.keyPrefix ?? "weft:";
    // The client is ready now, so a later "ready" is a reconnection. A restarted Redis has lost every key
    // until each member's next heartbeat (its own client may reconnect up to ~1 s later): listing in that gap
    // would report live members as gone. Hold the watchers for 3 beats plus the longest reconnect delay.
    redis.on("ready", () => {
      this.holdUntil = Date.now() + 3 * this.heartbeatMs + 1000;
      this.log.debug(`reconnected to Redis at ${url}; holding membership changes until members re-register`);
    });
  }

  /** Connects to Redis; rejects with {@link RedisConnectionError} when it stays unreachable. */
  static async connect(options: RedisRegistryOptions = {}): Promise<RedisRegistry> {
    const url = options.url ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    if (options.heartbeatMs !== undefined && !(options.heartbeatMs > 0)) {
      throw new ConfigError("heartbeatMs must be a positive number of milliseconds");
    }
    const log = options.logger ?? new InternalLogger("discovery.redis");
    const Client = await loadRedis();
    const retries = options.connectRetries ?? 3;
    let lastErr: unknown;
    for (let attempt = 0; attempt < retries; attempt++) {
      const redis = RedisRegistry.client(Client, url, options.connectTimeoutMs ?? 2000, log);
      try {
        await redis.connect();
        await redis.ping();
        return new RedisRegistry(Client, redis, url, options, log);
      } catch (err) {
        lastErr = err;
        redis.disconnect();
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    throw new RedisConnectionError(
      `cannot connect to Redis at ${url} after ${retries} attempts (${(lastErr as Error)?.message ?? "unknown error"}); ` +
        "start Redis or fix the URL (discovery.url / REDIS_URL)",
      { cause: lastErr },
    );
  }

  private static client(Client: typeof Redis, url: string, connectTimeoutMs: number, log: LoggerLike): Redis {
    const redis = new Client(url, {
      lazyConnect: true,
      connectTimeout: connectTimeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      // Keep reconnecting in the background: a restarted Redis is picked up again.
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
    });
    redis.on("error", (err: Error) => log.debug(`redis ${url}: ${err.message}`));
    return redis;
  }

  private typesKey(group: string): string {
    return `${this.prefix}${group}:types`;
  }
  private hashKey(group: string, type: string): string {
    return `${this.prefix}${group}:${type}`;
  }
  private hbKey(group: string, name: string): string {
    return `${this.prefix}${group}:hb:${name}`;
  }
  private channel(group: string): string {
    return `${this.prefix}${group}:events`;
  }

  private async beat(member: MemberInfo): Promise<void> {
    await this.redis
      .multi()
      .sadd(this.typesKey(member.group), member.type)
      .hset(this.hashKey(member.group, member.type), member.name, JSON.stringify(member))
      .set(this.hbKey(member.group, member.name), member.incarnation, "PX", 3 * this.heartbeatMs)
      .exec();
  }

  private wrap(err: unknown, what: string): RedisConnectionError {
    return new RedisConnectionError(`Redis at ${this.url} failed while ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  async register(member: MemberInfo): Promise<void> {
    try {
      await this.beat(member);
      await this.redis.publish(this.channel(member.group), `join ${member.name}`);
    } catch (err) {
      throw this.wrap(err, `registering ${member.name}`);
    }
    const previous = this.own.get(member.name);
    if (previous) clearInterval(previous.timer);
    const timer = setInterval(() => {
      this.beat(member).then(
        () => {
          if (this.lastError !== "") this.log.info(`Redis at ${this.url} is reachable again`);
          this.lastError = "";
        },
        (err: unknown) => {
          const message = (err as Error).message;
          if (message !== this.lastError) this.log.warn(`heartbeat of ${member.name} failed: ${message}`);
          this.lastError = message;
        },
      );
    }, this.heartbeatMs);
    timer.unref();
    this.own.set(member.name, { member, timer });
  }

  async unregister(name: string): Promise<void> {
    const entry = this.own.get(name);
    if (!entry) return;
    clearInterval(entry.timer);
    this.own.delete(name);
    const { group, type, incarnation } = entry.member;
    try {
      // Delete only our own incarnation (a restarted member may have re-registered the name), and drop the
      // type from the types set once its hash is empty, atomically, so that no key outlives the group.
      await this.redis.eval(
        UNREGISTER_SCRIPT,
        3,
        this.hbKey(group, name),
        this.hashKey(group, type),
        this.typesKey(group),
        name,
        type,
        incarnation,
      );
      await this.redis.publish(this.channel(group), `leave ${name}`);
    } catch (err) {
      this.log.debug(`unregister ${name}: ${(err as Error).message}`);
    }
  }

  async list(group: string): Promise<MemberInfo[]> {
    try {
      const types = await this.redis.smembers(this.typesKey(group));
      const hashes = await Promise.all(types.map((t) => this.redis.hgetall(this.hashKey(group, t))));
      const members: MemberInfo[] = [];
      for (const hash of hashes) {
        for (const text of Object.values(hash)) {
          try {
            members.push(JSON.parse(text) as MemberInfo);
          } catch {
            this.log.debug(`ignoring an unreadable member entry in group ${group}`);
          }
        }
      }
      if (members.length === 0) return [];
      const beats = await this.redis.mget(members.map((m) => this.hbKey(group, m.name)));
      const expired = members.filter((_, i) => beats[i] === null);
      if (expired.length > 0 && this.pruneExpired) void this.prune(expired);
      return members
        .filter((m, i) => beats[i] === m.incarnation)
        .sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      throw this.wrap(err, `listing group ${group}`);
    }
  }

  /** Removes the entries of members whose heartbeat expired. Best effort: the next list tries again. */
  private async prune(members: readonly MemberInfo[]): Promise<void> {
    // Right after a reconnection, a restarted Redis holds no heartbeat keys yet for members that are alive;
    // their next heartbeat writes the entry again anyway, but there is no point in racing it.
    if (Date.now() < this.holdUntil) return;
    for (const m of members) {
      try {
        const removed = await this.redis.eval(
          PRUNE_SCRIPT,
          3,
          this.hbKey(m.group, m.name),
          this.hashKey(m.group, m.type),
          this.typesKey(m.group),
          m.name,
          m.type,
          m.incarnation,
        );
        if (removed === 1) this.log.debug(`removed the entry of ${m.name}: its heartbeat expired`);
      } catch (err) {
        this.log.debug(`could not remove the expired entry of ${m.name}: ${(err as Error).message}`);
      }
    }
  }

  async isAlive(member: MemberInfo): Promise<boolean> {
    try {
      return (await this.redis.get(this.hbKey(member.group, member.name))) === member.incarnation;
    } catch (err) {
      throw this.wrap(err, `checking ${member.name}`);
    }
  }

  watch(group: string, listener: MembershipListener): () => void {
    const watcher = new MembershipWatcher(
      async () => {
        const held = (): boolean => Date.now() < this.holdUntil;
        if (held()) throw new Error("Redis reconnected recently; members are re-registering");
        const members = await this.list(group);
        // Checked again: a list queued while disconnected runs right after the reconnection.
        if (held()) throw new Error("Redis reconnected recently; members are re-registering");
        return members;
      },
      this.heartbeatMs,
      listener,
      (err) => this.log.debug(`watch of ${group}: ${(err as Error).message}`),
    );
    let set = this.watchers.get(group);
    if (!set) {
      set = new Set();
      this.watchers.set(group, set);
      this.ensureSubscriber()
        .then((sub) => sub.subscribe(this.channel(group)))
        .catch((err: unknown) => this.log.debug(`subscribe ${group}: ${(err as Error).message}`));
    }
    set.add(watcher);
    return () => {
      watcher.stop();
      set.delete(watcher);
    };
  }

  private async ensureSubscriber(): Promise<Redis> {
    if (this.subscriber) return this.subscriber;
    const sub = RedisRegistry.client(this.Client, this.url, 2000, this.log);
    this.subscriber = sub;
    sub.on("message", (channel: string) => {
      for (const [group, set] of this.watchers) {
        if (this.channel(group) === channel) for (const w of set) w.poke();
      }
    });
    await sub.connect();
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.watchers.values()) for (const w of set) w.stop();
    this.watchers.clear();
    await Promise.all([...this.own.keys()].map((name) => this.unregister(name)));
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }
}
