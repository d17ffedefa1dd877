/**
 * The environment variables `weft launch` gives every process of a job.
 * @module
 */

/**
 * Names of the variables; any program (not only TypeScript modules) can read them.
 * @example
 * ```ts
 * const name = process.env[JOB_ENV.name]; // "actor.2", also in a Python or shell component
 * ```
 */
export const JOB_ENV = {
  /** Group name. */
  group: "WEFT_GROUP",
  /** Component type, e.g. `actor`. */
  type: "WEFT_COMPONENT_TYPE",
  /** Stable component name, e.g. `actor.2` (kept across restarts). */
  name: "WEFT_COMPONENT_NAME",
  /** Index of the component within its type, e.g. `2`. */
  index: "WEFT_COMPONENT_INDEX",
  /** How many times this component was restarted before this run. */
  restartCount: "WEFT_RESTART_COUNT",
  /** `local` or a `redis://` URL. */
  discovery: "WEFT_DISCOVERY",
  /** JSON object: processes per component type in the whole job, e.g. `{"learner":1,"actor":4}`. */
  components: "WEFT_JOB_COMPONENTS",
  /** Absolute path of the job file. */
  jobFile: "WEFT_JOB_FILE",
  /** Module entry run by the child entry point: `file:///…/learner.ts#main`. */
  entry: "WEFT_ENTRY",
  /** JSON array of the component's `args`. */
  args: "WEFT_ARGS",
  /** When set, the child reports its metrics to the launcher every this many ms. */
  metricsIntervalMs: "WEFT_METRICS_INTERVAL_MS",
} as const;
