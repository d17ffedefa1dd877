/**
 * Optional Redis discovery of a pipeline group: each node registers the endpoint it bound and waits
 * until the peers it must dial have registered theirs (event-driven, with a deadline).
 * @module
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { TimeoutError } from "../core/errors.ts";
import { RedisRegistry } from "../discovery/redis-registry.ts";
import type { MemberInfo } from "../discovery/registry.ts";

/** Options of {@link discoverGroup}. */
export interface GroupDiscoveryOptions {
  /** Redis URL. */
  url: string;
  /** Job name: the Redis group is `pipeline.<jobId>`. */
  jobId: string;
  nodeId: number;
  /** Endpoint this node bound. */
  endpoint: string;
  /** Key prefix in Redis. Default `"weft:"`. */
  keyPrefix?: string;
}

/** A registration in Redis, found with {@link discoverGroup}. */
export interface GroupDiscovery {
  /** Resolves with the endpoint of every node id in `ids`, once all are registered; TimeoutError at `deadline`. */
  waitFor(ids: readonly number[], deadline: number): Promise<Map<number, string>>;
  /** Unregisters and disconnects. */
  close(): Promise<void>;
}

/**
 * Registers this node of job `jobId` in Redis.
 * @example
 * ```ts
 * const d = await discoverGroup({ url: "redis://127.0.0.1:6379", jobId: "j1", nodeId: 0, endpoint });
 * const peers = await d.waitFor([1, 2], Date.now() + 30_000);
 * await d.close();
 * ```
 */
export async function discoverGroup(options: GroupDiscoveryOptions): Promise<GroupDiscovery> {
  const registry = await RedisRegistry.connect({
    url: options.url,
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
  });
  const group = `pipeline.${options.jobId}`;
  const member: MemberInfo = {
    group,
    type: "pipeline",
    name: `node.${options.nodeId}`,
    addresses: { pull: options.endpoint },
    pid: process.pid,
    host: hostname(),
    meta: { nodeId: options.nodeId },
    incarnation: randomUUID(),
  };
  await registry.register(member);
  return {
    async waitFor(ids, deadline) {
      const found = new Map<number, string>();
      const note = (m: MemberInfo): void => {
        const id = m.meta.nodeId;
        const ep = m.addresses.pull;
        if (typeof id === "number" && typeof ep === "string") found.set(id, ep);
      };
      const complete = (): boolean => ids.every((id) => found.has(id));
      let wake: (() => void) | undefined;
      const stop = registry.watch(group, (e) => {
        if (e.kind === "join") note(e.member);
        if (complete()) wake?.();
      });
      let timer: NodeJS.Timeout | undefined;
      try {
        for (const m of await registry.list(group)) note(m);
        if (!complete()) {
          await new Promise<void>((resolve, reject) => {
            wake = resolve;
            timer = setTimeout(
              () =>
                reject(
                  new TimeoutError(
                    `node ${options.nodeId}: nodes ${ids.filter((i) => !found.has(i)).join(", ")} of job ` +
                      `"${options.jobId}" did not register in Redis in time; start them with the same jobId`,
                  ),
                ),
              Math.max(0, deadline - Date.now()),
            );
          });
        }
        return found;
      } finally {
        clearTimeout(timer);
        stop();
      }
    },
    close: () => registry.close(),
  };
}
