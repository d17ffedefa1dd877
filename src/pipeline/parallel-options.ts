/**
 * Options of a {@link Parallel} router: how `Parallel.start` links a node into its job, and how
 * `Parallel.close` lets go of it.
 * @module
 */
import type { CurveOptions } from "../transport/curve.ts";
import type { EndpointOptions, Topology } from "./topology.ts";

/**
 * Options of {@link Parallel.start}.
 * @example
 * ```ts
 * const options: ParallelOptions = { nodeId: 1, nParallelWorkers: 3, protocol: "tcp", ports: 50515, topology: "star" };
 * const router = await Parallel.start(options);
 * ```
 */
export interface ParallelOptions extends EndpointOptions {
  /** This node's id. */
  nodeId: number;
  /** Number of nodes in this node's group (ids `firstNodeId …`). */
  nParallelWorkers: number;
  /** Id of the group's first node; the star's centre. Default 0. */
  firstNodeId?: number;
  /** `"mesh"` (default), `"star"` (all linked to the first node) or `"alone"` (only `attachTo`). */
  topology?: Topology;
  /** Endpoints (`tcp://host:port`, `ipc://…`) of nodes of other groups to link to. Default none. */
  attachTo?: readonly string[];
  /** Host or interface the TCP socket binds. Default: this node's own address. */
  bindAddress?: string;
  /**
   * Redis URL: nodes of the group find each other's endpoints there (registered under `jobId`) instead of
   * deriving them from `ports`; TCP nodes then bind an ephemeral port. Default: no discovery.
   */
  redisUrl?: string;
  /** Labels added to the task's labels. */
  labels?: Iterable<string>;
  /** Deadline of the start-up handshake, in ms. Default 30 000. */
  startTimeoutMs?: number;
  /** Remote events kept while no listener exists for them, per event name. Default 10 000. */
  maxBufferedPerEvent?: number;
  /** Events queued per peer while it is reachable; more are dropped and counted. Default 1 048 576. */
  maxQueuedPerPeer?: number;
  /** Events queued per peer while it is disconnected; more are dropped and counted. Default 10 000. */
  maxQueuedWhilePeerDown?: number;
  /** ZMQ_SNDHWM of every link, in messages (each a batch of events). Default 1000. */
  sendHighWaterMark?: number;
  /**
   * CURVE for tcp links: traffic is encrypted and this node accepts only clients whose public key is in
   * `allowedPublicKeys` (default: its own, for a job sharing one key pair; checked by the process's ZAP
   * handler). Links this node dials expect the other node's server key to be `peerPublicKey` (default:
   * this node's own public key). ipc links are not affected (their files are private to the user).
   * Default: plain tcp.
   */
  curve?: CurveOptions & { peerPublicKey?: string };
}

/**
 * Options of {@link Parallel.close}.
 * @example
 * ```ts
 * await router.close({ flushTimeoutMs: 1000 });
 * ```
 */
export interface CloseOptions {
  /** How long to wait for queued events to reach ZeroMQ, in ms. Default 5000. */
  flushTimeoutMs?: number;
}
