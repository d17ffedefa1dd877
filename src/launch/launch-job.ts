/**
 * Runs a whole job in the foreground: checks the group is free, starts the supervisor, serves metrics,
 * forwards SIGINT/SIGTERM, and turns the outcome into an exit status.
 * @module
 */
import { BadRequestError, DeploymentError } from "../core/errors.ts";
import { LocalRegistry } from "../discovery/local-registry.ts";
import { JobMetrics } from "../observability/job-metrics.ts";
import { serveMetrics, type MetricsServer } from "../observability/metrics-server.ts";
import type { JobSpec } from "./job-schema.ts";
import { JobSupervisor, type JobOutcome, type SupervisorOptions } from "./supervisor.ts";

/**
 * Options of {@link launchJob}.
 * @example
 * ```ts
 * const options: LaunchOptions = { quiet: true, logDir: "logs", metricsPort: 9464, only: ["actor"] };
 * process.exitCode = await launchJob(await loadJobFile("job.yaml"), options);
 * ```
 */
export interface LaunchOptions extends Omit<SupervisorOptions, "metrics"> {
  /** Serve the job's metrics on this port (`/metrics`); 0 picks a free port. Default: no server. */
  metricsPort?: number;
  /** Interface of the metrics server. Default `127.0.0.1`. */
  metricsHost?: string;
  /** Called once the processes are started (tests use it to find pids). */
  onStarted?: (supervisor: JobSupervisor) => void;
}

/**
 * Runs `job` until it ends and resolves to the launcher's exit status: 0 when every component exited
 * with 0, 130/143 when stopped by SIGINT/SIGTERM. Throws {@link DeploymentError} (exit status 5) naming
 * the component whose failure ended the job.
 *
 * @example
 * ```ts
 * const status = await launchJob(await loadJobFile("job.yaml"), { metricsPort: 9464 });
 * ```
 */
export async function launchJob(job: JobSpec, options: LaunchOptions = {}): Promise<number> {
  const group = options.group ?? job.group;
  const stderr = options.stderr ?? process.stderr;
  const discovery = options.discovery ?? job.discovery;
  if (discovery !== "local" && !/^rediss?:\/\//.test(discovery)) {
    throw new BadRequestError(`discovery must be "local" or a redis:// URL, got "${discovery}"`);
  }
  if (discovery === "local" && !(options.only && options.only.length > 0)) {
    // Two jobs with one group name on one machine would join each other's group.
    const live = await new LocalRegistry().list(group);
    if (live.length > 0) {
      throw new DeploymentError(
        `group "${group}" already has live members (${live.map((m) => `${m.name} pid ${m.pid}`).join(", ")}); ` +
          "stop that job first or start this one with --group <another name>",
      );
    }
  }
  const metrics = options.metricsPort !== undefined ? new JobMetrics() : undefined;
  let server: MetricsServer | undefined;
  if (metrics) {
    server = await serveMetrics({
      port: options.metricsPort!,
      ...(options.metricsHost ? { host: options.metricsHost } : {}),
      render: () => metrics.metrics(),
    });
    stderr.write(`[weft] metrics: ${server.url}\n`);
  }
  const supervisor = new JobSupervisor(job, { ...options, ...(metrics ? { metrics } : {}) });
  const onSignal = (signal: NodeJS.Signals): void => {
    stderr.write(`[weft] ${signal}: stopping ${supervisor.componentNames.length} processes\n`);
    supervisor.stop(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let outcome: JobOutcome;
  try {
    supervisor.start();
    options.onStarted?.(supervisor);
    outcome = await supervisor.done;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await server?.close();
  }
  const clean = outcome.components.filter((c) => c.status === 0).length;
  const others = outcome.components
    .filter((c) => c.status !== 0)
    .map(
      (c) =>
        `${c.name} ${c.signal ? `killed by ${c.signal}` : c.status === null ? "not started" : `status ${c.status}`}`,
    );
  stderr.write(
    `[weft] job ${group} ended: ${clean} of ${outcome.components.length} processes exited with status 0${others.length > 0 ? `; ${others.join(", ")}` : ""}\n`,
  );
  if (outcome.failed) {
    throw new DeploymentError(`component ${outcome.failed.name} failed: ${outcome.failed.reason}`);
  }
  if (outcome.stoppedBy) return outcome.stoppedBy === "SIGINT" ? 130 : 143;
  return 0;
}
