/**
 * The seam between a {@link Task} and the router that carries its events to other nodes. The Task only
 * knows this interface; `parallel.ts` implements it over ZeroMQ and registers itself as the active router.
 * @module
 */

/**
 * What a Task needs from the router of its job.
 * @example
 * ```ts
 * const router: TaskRouter = await Parallel.start({ nodeId: 0, nParallelWorkers: 2, jobId: "job1" });
 * new Task().start({ router });
 * ```
 */
export interface TaskRouter {
  /** True while the router is linked into a job. */
  readonly isActive: boolean;
  /** This node's id within the job. */
  readonly nodeId: number;
  /** Labels the router adds to the task's labels (e.g. from `--labels`). */
  readonly labels: ReadonlySet<string>;
  /** Sends `event` (bare name) with `args` to every other node. */
  emit(event: string, args: unknown[]): void;
  /** Installs the one forwarder of `event`: remote emits of it are handed to `deliver`. */
  on(event: string, deliver: (args: unknown[]) => void): void;
  /** Removes the forwarder of `event`. */
  off(event: string): void;
  /** Number of peers this node is linked to now. */
  getAttachToLen(): number;
}

let active: TaskRouter | undefined;

/**
 * The router of this process's job, if one is running (set by `Parallel`).
 * @example
 * ```ts
 * if (getActiveRouter()?.isActive) console.log("distributed");
 * ```
 */
export function getActiveRouter(): TaskRouter | undefined {
  return active?.isActive === true ? active : undefined;
}

/**
 * Registers (or, with `undefined`, clears) the router tasks started in this process use.
 * @example
 * ```ts
 * setActiveRouter(parallel);
 * ```
 */
export function setActiveRouter(router: TaskRouter | undefined): void {
  active = router;
}
