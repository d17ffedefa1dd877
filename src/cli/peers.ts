/**
 * `weft peers`: who is in a group, where they listen, and whether they are alive.
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BadRequestError } from "../core/errors.ts";
import { createRegistry, type DiscoveryOptions } from "../discovery/create-registry.ts";
import { loadRedis } from "../discovery/load-ioredis.ts";
import { pidAlive } from "../discovery/local-registry.ts";
import type { MemberInfo } from "../discovery/registry.ts";
import { runtimeDir } from "../transport/addresses.ts";
import type { CliCommand } from "./command.ts";

const USAGE = `weft peers --group G [--redis URL] [--all] [--json]

Lists the members of group G: type, name, unicast address, pid@host and liveness.

  --group G          group name (required)
  --redis URL        read the Redis registry at URL (default: the local registry of this machine)
  --key-prefix P     Redis key prefix (default "weft:")
  --dir DIR          local registry directory (default <runtime dir>/registry)
  --all              also list stale entries (members whose heartbeat stopped or whose process is gone)
  --json             one JSON object per member instead of a table`;

/** One row of the listing. */
export interface PeerRow {
  type: string;
  name: string;
  address: string;
  broadcast: string;
  pid: number;
  host: string;
  /** `"alive"`, or why the entry is stale. */
  liveness: string;
}

function row(m: MemberInfo, liveness: string): PeerRow {
  return {
    type: m.type,
    name: m.name,
    address: m.addresses.unicast ?? "",
    broadcast: m.addresses.broadcast ?? "",
    pid: m.pid,
    host: m.host,
    liveness,
  };
}

/** Entries of a local registry group that the registry no longer lists (it hides stale ones). */
async function localEntries(dir: string, group: string): Promise<{ m: MemberInfo; why: string }[]> {
  const groupDir = join(dir, group);
  let files: string[];
  try {
    files = (await readdir(groupDir)).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const out: { m: MemberInfo; why: string }[] = [];
  for (const f of files) {
    try {
      const file = join(groupDir, f);
      const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
      const m = JSON.parse(text) as MemberInfo;
      const age = ((Date.now() - st.mtimeMs) / 1000).toFixed(1);
      const gone = m.host === hostname() && !pidAlive(m.pid);
      out.push({ m, why: gone ? `stale: process ${m.pid} is gone` : `stale: last heartbeat ${age} s ago` });
    } catch {
      // Half-written or foreign file: not a member.
    }
  }
  return out;
}

/** Entries of a Redis registry group (hash per type), whether or not their heartbeat key is live. */
async function redisEntries(
  url: string,
  prefix: string,
  group: string,
): Promise<{ m: MemberInfo; why: string }[]> {
  const Redis = await loadRedis();
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const types = await redis.smembers(`${prefix}${group}:types`);
    const out: { m: MemberInfo; why: string }[] = [];
    for (const t of types) {
      for (const text of Object.values(await redis.hgetall(`${prefix}${group}:${t}`))) {
        try {
          out.push({ m: JSON.parse(text) as MemberInfo, why: "stale: heartbeat key expired" });
        } catch {
          // Unreadable entry: skip.
        }
      }
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/**
 * Lists group members: live ones from the registry, plus (with `all`) the stale entries it hides.
 * @example
 * ```ts
 * const rows = await listPeers({ group: "job", redis: "redis://127.0.0.1:6379" });
 * ```
 */
export async function listPeers(options: {
  group: string;
  redis?: string;
  keyPrefix?: string;
  dir?: string;
  all?: boolean;
}): Promise<PeerRow[]> {
  const prefix = options.keyPrefix ?? "weft:";
  const dir = options.dir ?? join(runtimeDir(), "registry");
  const discovery: DiscoveryOptions = options.redis
    ? { type: "redis", url: options.redis, keyPrefix: prefix, connectRetries: 1, pruneExpired: false }
    : { type: "local", dir };
  const registry = await createRegistry(discovery);
  let live: MemberInfo[];
  try {
    live = await registry.list(options.group);
  } finally {
    await registry.close();
  }
  const rows = live.map((m) => row(m, "alive"));
  if (options.all) {
    const seen = new Set(live.map((m) => `${m.name}@${m.incarnation}`));
    const entries = options.redis
      ? await redisEntries(options.redis, prefix, options.group)
      : await localEntries(dir, options.group);
    for (const { m, why } of entries) if (!seen.has(`${m.name}@${m.incarnation}`)) rows.push(row(m, why));
  }
  return rows.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** Formats rows as an aligned text table. */
export function formatPeers(rows: readonly PeerRow[]): string {
  const head = ["TYPE", "NAME", "ADDRESS", "PID@HOST", "LIVENESS"];
  const cells = rows.map((r) => [r.type, r.name, r.address, `${r.pid}@${r.host}`, r.liveness]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells]
    .map((c) =>
      c
        .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * The `weft peers` subcommand.
 * @example
 * ```ts
 * await command.run(["--group", "job"]); // prints the table, exit status 0
 * ```
 */
export const command: CliCommand = {
  name: "peers",
  summary: "list the members of a group: type, name, address, pid@host, liveness",
  example: "weft peers --group master-worker --redis redis://127.0.0.1:6379",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          group: { type: "string" },
          redis: { type: "string" },
          "key-prefix": { type: "string" },
          dir: { type: "string" },
          all: { type: "boolean" },
          json: { type: "boolean" },
        },
      }));
    } catch (err) {
      throw new BadRequestError(`${(err as Error).message}; run "weft peers --help"`, { cause: err });
    }
    if (values.group === undefined || values.group === "") {
      throw new BadRequestError('name the group: "weft peers --group G"');
    }
    if (values.redis !== undefined && !/^rediss?:\/\//.test(values.redis)) {
      throw new BadRequestError(`--redis must be a redis:// URL, got ${JSON.stringify(values.redis)}`);
    }
    const rows = await listPeers({
      group: values.group,
      ...(values.redis !== undefined ? { redis: values.redis } : {}),
      ...(values["key-prefix"] !== undefined ? { keyPrefix: values["key-prefix"] } : {}),
      ...(values.dir !== undefined ? { dir: values.dir } : {}),
      all: values.all ?? false,
    });
    if (values.json) {
      for (const r of rows) console.log(JSON.stringify(r));
    } else if (rows.length === 0) {
      console.log(`no members in group "${values.group}"`);
    } else {
      console.log(formatPeers(rows));
    }
    return 0;
  },
};
