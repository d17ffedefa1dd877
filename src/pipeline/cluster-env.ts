/**
 * Rank and peer addresses of a multi-machine job, derived from the scheduler's environment.
 * @module
 */
import { ConfigError } from "../core/errors.ts";

/**
 * Where this process sits in a multi-machine job.
 * @example
 * ```ts
 * const placement: ClusterPlacement | undefined = placementFromEnv();
 * if (placement) console.log(`rank ${placement.rank} of ${placement.worldSize} (${placement.source})`);
 * ```
 */
export interface ClusterPlacement {
  /** This process's rank (its node id). */
  rank: number;
  /** Number of processes in the job. */
  worldSize: number;
  /** Host of every rank, index = rank. */
  hosts: string[];
  /** Which environment it came from. */
  source: "slurm" | "weft";
}

/**
 * Expands a Slurm host list: `"gpu[01-03,7],cpu5"` → `["gpu01", "gpu02", "gpu03", "gpu7", "cpu5"]`.
 * @example
 * ```ts
 * expandSlurmNodelist("n[1-2]"); // ["n1", "n2"]
 * ```
 */
export function expandSlurmNodelist(list: string): string[] {
  const out: string[] = [];
  // Split on commas that are not inside brackets.
  const parts = list.match(/[^,[]+(\[[^\]]*\])?[^,]*/g) ?? [];
  for (const part of parts) {
    const m = /^([^[]*)\[([^\]]*)\](.*)$/.exec(part);
    if (m === null) {
      if (part !== "") out.push(part);
      continue;
    }
    const [, prefix = "", ranges = "", suffix = ""] = m;
    for (const r of ranges.split(",")) {
      const [lo, hi] = r.split("-") as [string, string | undefined];
      if (!/^\d+$/.test(lo) || (hi !== undefined && !/^\d+$/.test(hi)))
        throw new ConfigError(`SLURM_NODELIST range "${r}" in "${list}" is not N or N-M`);
      const a = Number(lo);
      const b = hi === undefined ? a : Number(hi);
      for (let i = a; i <= b; i++) out.push(`${prefix}${String(i).padStart(lo.length, "0")}${suffix}`);
    }
  }
  return out;
}

/**
 * Reads `SLURM_PROCID` / `SLURM_NTASKS` / `SLURM_NODELIST` (one task per node), or `WEFT_RANK` /
 * `WEFT_NODES` (comma-separated hosts, Kubernetes-style). Returns `undefined` when neither is set.
 * @example
 * ```ts
 * placementFromEnv({ WEFT_NODES: "a,b", WEFT_RANK: "1" }); // { rank: 1, worldSize: 2, hosts: ["a","b"], source: "weft" }
 * ```
 */
export function placementFromEnv(
  env: Record<string, string | undefined> = process.env,
): ClusterPlacement | undefined {
  const int = (name: string, v: string): number => {
    if (!/^\d+$/.test(v)) throw new ConfigError(`${name}="${v}" is not a non-negative integer`);
    return Number(v);
  };
  if (env.WEFT_NODES !== undefined) {
    const hosts = env.WEFT_NODES.split(",")
      .map((h) => h.trim())
      .filter((h) => h !== "");
    if (env.WEFT_RANK === undefined)
      throw new ConfigError("WEFT_NODES is set but WEFT_RANK is not; set both");
    const rank = int("WEFT_RANK", env.WEFT_RANK);
    if (rank >= hosts.length)
      throw new ConfigError(`WEFT_RANK=${rank} but WEFT_NODES lists ${hosts.length} hosts`);
    return { rank, worldSize: hosts.length, hosts, source: "weft" };
  }
  if (env.SLURM_PROCID !== undefined) {
    const rank = int("SLURM_PROCID", env.SLURM_PROCID);
    const worldSize = int("SLURM_NTASKS", env.SLURM_NTASKS ?? "");
    const nodes = expandSlurmNodelist(env.SLURM_NODELIST ?? "");
    if (nodes.length === 0) throw new ConfigError("SLURM_PROCID is set but SLURM_NODELIST is empty");
    if (rank >= worldSize)
      throw new ConfigError(`SLURM_PROCID=${rank} is not below SLURM_NTASKS=${worldSize}`);
    // Tasks are spread over the nodes in blocks, as Slurm's default distribution does.
    const perNode = Math.ceil(worldSize / nodes.length);
    const hosts = Array.from(
      { length: worldSize },
      (_, r) => nodes[Math.min(Math.floor(r / perNode), nodes.length - 1)] as string,
    );
    return { rank, worldSize, hosts, source: "slurm" };
  }
  return undefined;
}
