/**
 * `weft launch`: job files, the process supervisor and the context a component receives.
 * @module
 */
export {
  loadJobFile,
  parseJob,
  splitCommandLine,
  type ComponentSpec,
  type EntrySpec,
  type JobSpec,
} from "./job-schema.ts";
export { jobContextFromEnv, type JobContext, type JobProxyOptions } from "./context.ts";
export { JOB_ENV } from "./env.ts";
export {
  JobSupervisor,
  type ComponentOutcome,
  type JobOutcome,
  type SupervisorOptions,
} from "./supervisor.ts";
export { OutputMux, type OutputOptions } from "./output.ts";
export { launchJob, type LaunchOptions } from "./launch-job.ts";
export { namesForHost, placeJob, type HostShare } from "./placement.ts";
