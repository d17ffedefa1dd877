/**
 * `Parallel.runner`: starts the N worker processes of a pipeline job and supervises them.
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ConfigError, NodeError } from "../core/errors.ts";
import type { ParallelOptions } from "./parallel-options.ts";
import type { Topology } from "./topology.ts";

/**
 * Options of {@link runner}.
 * @example
 * ```ts
 * const options: RunnerOptions = { nParallelWorkers: 4, topology: "star", autoRecover: true, maxRetries: 2 };
 * await runner(options)("./job.ts#main");
 * ```
 */
export interface RunnerOptions {
  /** Number of worker processes. Default 1. */
  nParallelWorkers?: number;
  /** `"mesh"` (every node linked), `"star"` (all linked to the first node) or `"alone"`. Default `"mesh"`. */
  topology?: Topology;
  /** Endpoints of nodes of other jobs every worker links to (DI-engine's `attach_to`). Default none. */
  attachTo?: readonly string[];
  /**
   * Host of every node id of a job spread over machines (index = node id), e.g. from
   * {@link placementFromEnv}; the group is then node ids `0 … nodeAddresses.length - 1` and this runner
   * starts ids `nodeIds …`. Implies tcp. Default: all nodes on `address`.
   */
  nodeAddresses?: readonly string[];
  /** Interface TCP sockets bind. Default each node's own address. */
  bindAddress?: string;
  /** Redis URL: nodes find each other's endpoints there. Default none. */
  redisUrl?: string;
  /** Job name (ipc file names, Redis group); share it between runners of one job. Default random. */
  jobId?: string;
  /** Pause between starting two workers, in ms (start-up pacing only; readiness is a handshake). Default 0. */
  startupIntervalMs?: number;
  /** `"ipc"` (default) or `"tcp"`. */
  protocol?: "ipc" | "tcp";
  /** TCP base port: node i binds `ports + i`. Default 50515. */
  ports?: number;
  /** TCP host. Default `127.0.0.1`. */
  address?: string;
  /** Labels of every node. */
  labels?: Iterable<string>;
  /** Id of the first node. Default 0. */
  nodeIds?: number;
  /** CURVE keys of every tcp link (see {@link ParallelOptions.curve}). Default: plain tcp. */
  curve?: ParallelOptions["curve"];
  /** Re-run `main` in the same worker after an error. Default `false`. */
  autoRecover?: boolean;
  /** Most re-runs of `main` with `autoRecover`. Default 3. */
  maxRetries?: number;
}

const WORKER = fileURLToPath(new URL("./worker-main.ts", import.meta.url));

/**
 * Returns a function that runs `entry` (`"./file.ts#main"`) in `nParallelWorkers` processes linked in a
 * mesh. Resolves when every worker ended well; rejects with a NodeError carrying the failing worker's id
 * and stack (the other workers are then killed). Workers are reaped on every path.
 * @example
 * ```ts
 * await runner({ nParallelWorkers: 3 })("./job.ts#main");
 * ```
 */
export function runner(options: RunnerOptions = {}): (entry: string) => Promise<void> {
  const n = options.nParallelWorkers ?? 1;
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`nParallelWorkers must be an integer ≥ 1, got ${n}`);
  const topology = options.topology ?? "mesh";
  if (topology !== "mesh" && topology !== "star" && topology !== "alone")
    throw new ConfigError(`topology "${String(topology)}" is not mesh, star or alone`);
  const first = options.nodeIds ?? 0;
  if (!Number.isInteger(first) || first < 0)
    throw new ConfigError(`nodeIds must be a non-negative integer, got ${first}`);
  const hosts = options.nodeAddresses;
  if (hosts !== undefined && first + n > hosts.length)
    throw new ConfigError(
      `nodeAddresses lists ${hosts.length} nodes but this runner starts node ids ${first}…${first + n - 1}`,
    );
  return async (entry: string) => {
    const jobId = options.jobId ?? `j${randomBytes(5).toString("hex")}`;
    const children: ChildProcess[] = [];
    try {
      let stopStarting = false;
      const done = new Promise<void>((resolve, reject) => {
        let exited = 0;
        let failed = false;
        const startWorker = (i: number): void => {
          const router: ParallelOptions = {
            nodeId: first + i,
            nParallelWorkers: hosts?.length ?? n,
            firstNodeId: hosts === undefined ? first : 0,
            topology,
            jobId,
            protocol: hosts === undefined ? (options.protocol ?? "ipc") : "tcp",
            ports: options.ports ?? 50515,
            address: options.address ?? "127.0.0.1",
            labels: [...(options.labels ?? [])],
            ...(options.attachTo === undefined ? {} : { attachTo: [...options.attachTo] }),
            ...(hosts === undefined ? {} : { nodeAddresses: [...hosts] }),
            ...(options.bindAddress === undefined ? {} : { bindAddress: options.bindAddress }),
            ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
            ...(options.curve === undefined ? {} : { curve: options.curve }),
          };
          const config = {
            entry,
            router,
            autoRecover: options.autoRecover ?? false,
            maxRetries: options.maxRetries ?? 3,
          };
          const child = fork(WORKER, [], {
            execArgv: ["--import", "tsx"],
            env: { ...process.env, WEFT_PIPELINE_WORKER: JSON.stringify(config) },
            stdio: ["ignore", "inherit", "inherit", "ipc"],
          });
          children.push(child);
          const nodeId = String(first + i);
          let lastError: { name: string; message: string; stack: string } | undefined;
          child.on("message", (m: any) => {
            if (m?.type === "error") lastError = m;
          });
          child.on("exit", (code, signal) => {
            exited++;
            if (failed) return;
            if (code !== 0) {
              failed = true;
              const detail = lastError?.message ?? `exited with ${signal ?? `code ${code}`}`;
              reject(
                new NodeError(`pipeline worker ${nodeId} failed: ${detail}`, {
                  nodeId,
                  originalName: lastError?.name ?? "Error",
                  ...(lastError?.stack === undefined ? {} : { originalStack: lastError.stack }),
                }),
              );
            } else if (exited === n) resolve();
          });
        };
        const interval = options.startupIntervalMs ?? 0;
        const startFrom = (i: number): void => {
          for (; i < n && !stopStarting; i++) {
            startWorker(i);
            if (interval > 0 && i + 1 < n) {
              // Pacing only: readiness is the routers' handshake, never this pause.
              setTimeout(() => startFrom(i + 1), interval);
              return;
            }
          }
        };
        startFrom(0);
      });
      try {
        await done;
      } finally {
        stopStarting = true;
      }
    } finally {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((done) => {
              if (c.exitCode !== null || c.signalCode !== null) return done();
              c.once("exit", () => done());
              c.kill("SIGKILL");
            }),
        ),
      );
    }
  };
}
