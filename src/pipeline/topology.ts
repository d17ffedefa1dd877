/**
 * Which endpoint each node of a job binds and which peers it dials, per topology.
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { runtimeDir } from "../transport/addresses.ts";

/**
 * How the nodes of a job are linked.
 * @example
 * ```ts
 * const topology: Topology = "star";
 * peersOf({ topology, size: 4 }, 0); // [1, 2, 3]
 * ```
 */
export type Topology = "mesh" | "star" | "alone";

/**
 * The placement facts endpoints are derived from.
 * @example
 * ```ts
 * const options: EndpointOptions = { protocol: "tcp", nodeAddresses: ["10.0.0.1", "10.0.0.2"] };
 * endpointOf(options, 1); // "tcp://10.0.0.2:50516"
 * ```
 */
export interface EndpointOptions {
  /** `"ipc"` (default) or `"tcp"`. */
  protocol?: "ipc" | "tcp";
  /** Job name shared by the nodes of a group; names the ipc socket files. Required for ipc. */
  jobId?: string;
  /** TCP: node `i` binds port `ports + i`. Default 50515. */
  ports?: number;
  /** TCP host of every node (one machine). Default `127.0.0.1`. */
  address?: string;
  /** TCP host of each node id, index = node id (several machines, e.g. from Slurm). Overrides `address`. */
  nodeAddresses?: readonly string[];
}

/**
 * A group of nodes linked by a topology: node ids `firstNodeId … firstNodeId + size - 1`.
 * @example
 * ```ts
 * const group: GroupOptions = { topology: "mesh", firstNodeId: 2, size: 3 };
 * peersOf(group, 3); // [2, 4]
 * ```
 */
export interface GroupOptions {
  topology?: Topology;
  /** Id of the group's first node (the star's centre). Default 0. */
  firstNodeId?: number;
  /** Number of nodes in the group. */
  size: number;
  /** Explicit endpoints this node dials as well, as DI-engine's `attach_to`. */
  attachTo?: readonly string[];
}

/**
 * The endpoint node `id` binds and others dial.
 * @example
 * ```ts
 * endpointOf({ protocol: "tcp", ports: 50515 }, 2); // "tcp://127.0.0.1:50517"
 * ```
 */
export function endpointOf(options: EndpointOptions, id: number): string {
  if ((options.protocol ?? "ipc") === "tcp") {
    const host = options.nodeAddresses?.[id] ?? options.address ?? "127.0.0.1";
    const port = (options.ports ?? 50515) + id;
    if (port > 65535) throw new ConfigError(`node ${id} would bind port ${port}; lower --ports`);
    return `tcp://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
  }
  if (options.jobId === undefined || !/^[\w-]{1,40}$/.test(options.jobId))
    throw new ConfigError(
      "ipc needs a jobId of 1–40 letters, digits, _ or -, shared by all nodes of the job",
    );
  return `ipc://${join(runtimeDir(), `pl-${options.jobId}-${id}.sock`)}`;
}

/**
 * Node ids node `id` dials in its group: every other node (mesh), the centre or every leaf (star), none
 * (alone). `attachTo` endpoints come on top.
 * @example
 * ```ts
 * peersOf({ topology: "star", size: 3 }, 2); // [0]
 * ```
 */
export function peersOf(group: GroupOptions, id: number): number[] {
  const first = group.firstNodeId ?? 0;
  const ids = Array.from({ length: group.size }, (_, i) => first + i).filter((i) => i !== id);
  switch (group.topology ?? "mesh") {
    case "mesh":
      return ids;
    case "star":
      return id === first ? ids : [first];
    case "alone":
      return [];
    default:
      throw new ConfigError(`topology "${String(group.topology)}" is not mesh, star or alone`);
  }
}
