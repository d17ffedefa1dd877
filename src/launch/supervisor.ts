/**
 * The process supervisor of `weft launch`: starts every component of a job, restarts the ones that fail
 * (under the same name) when their policy allows, and stops everything — SIGTERM, then SIGKILL after the
 * grace period — when the job ends, fails or is interrupted. Each process runs in its own process group,
 * so programs it starts are stopped with it.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { JobMetrics, MetricsSnapshot } from "../observability/job-metrics.ts";
import { JOB_ENV } from "./env.ts";
import type { ComponentSpec, EntrySpec, JobSpec } from "./job-schema.ts";
import { OutputMux, type OutputOptions } from "./output.ts";

/**
 * Options of {@link JobSupervisor}.
 * @example
 * ```ts
 * const sup = new JobSupervisor(job, { only: ["actor.2"], gracePeriodMs: 2000, discovery: "redis://127.0.0.1:6379" });
 * ```
 */
export interface SupervisorOptions extends Omit<OutputOptions, "nameWidth"> {
  /** Start only these component types or names (`actor`, `actor.2`). Default all. */
  only?: string[];
  /** Overrides the job's `gracePeriodMs`. */
  gracePeriodMs?: number;
  /** Where processes' metrics are aggregated; when set, module components report every `metricsIntervalMs`. */
  metrics?: JobMetrics;
  /** Reporting interval of the components' metrics. Default 1000 ms. */
  metricsIntervalMs?: number;
  /** Overrides the job's group name. */
  group?: string;
  /** Overrides the job's discovery (`local` or a `redis://` URL). */
  discovery?: string;
}

/**
 * How one component ended.
 * @example
 * ```ts
 * const { components } = await sup.done;
 * for (const c of components) console.log(c.name, c.status ?? c.signal, `${c.restarts} restarts`);
 * ```
 */
export interface ComponentOutcome {
  name: string;
  type: string;
  /** Exit status of its last process (null when killed by a signal or never started). */
  status: number | null;
  /** Signal that ended its last process. */
  signal: NodeJS.Signals | null;
  restarts: number;
  pid: number | undefined;
}

/**
 * How the job ended.
 * @example
 * ```ts
 * const outcome = await sup.done;
 * if (outcome.failed) console.error(`${outcome.failed.name}: ${outcome.failed.reason}`);
 * ```
 */
export interface JobOutcome {
  /** Every component exited with status 0. */
  ok: boolean;
  /** The component whose failure ended the job, and why. */
  failed?: { name: string; reason: string };
  /** Set when the job was stopped by a signal to the launcher. */
  stoppedBy?: NodeJS.Signals;
  components: ComponentOutcome[];
}

interface Slot {
  name: string;
  type: string;
  index: number;
  spec: ComponentSpec & { entry: EntrySpec };
  child: ChildProcess | undefined;
  restarts: number;
  restartTimer: NodeJS.Timeout | undefined;
  status: number | null;
  signal: NodeJS.Signals | null;
  finished: boolean;
  pid: number | undefined;
}

/** A process entry point next to this file: the .ts source in a checkout, the .js build in a package. */
function siblingPath(name: string): string {
  const ts = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Waits until no process of the given process groups remains (orphans the init process has not reaped
 * yet included), SIGKILLing stragglers; gives up after `deadlineMs`.
 */
async function waitGroupsGone(pgids: number[], deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let left = pgids.filter(groupExists); left.length > 0; left = left.filter(groupExists)) {
    if (Date.now() > end) return;
    for (const g of left) {
      try {
        process.kill(-g, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs the processes of a job.
 *
 * @example
 * ```ts
 * const sup = new JobSupervisor(await loadJobFile("job.yaml"), { color: true });
 * sup.start();
 * process.once("SIGINT", () => sup.stop("SIGINT"));
 * const outcome = await sup.done;
 * ```
 */
export class JobSupervisor {
  readonly group: string;
  /** Resolves when every process has ended. */
  readonly done: Promise<JobOutcome>;
  private resolveDone!: (o: JobOutcome) => void;
  private readonly slots: Slot[] = [];
  private readonly out: OutputMux;
  private readonly grace: number;
  private stopping = false;
  private killTimer: NodeJS.Timeout | undefined;
  private failed: { name: string; reason: string } | undefined;
  private stoppedBy: NodeJS.Signals | undefined;
  private settled = false;

  constructor(
    private readonly job: JobSpec,
    private readonly options: SupervisorOptions = {},
  ) {
    this.group = options.group ?? job.group;
    this.grace = options.gracePeriodMs ?? job.gracePeriodMs;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const only = options.only && options.only.length > 0 ? new Set(options.only) : undefined;
    for (const [type, spec] of Object.entries(job.components)) {
      for (let index = 0; index < spec.count; index++) {
        const name = `${type}.${index}`;
        if (only && !only.has(type) && !only.has(name)) continue;
        this.slots.push({
          name,
          type,
          index,
          spec,
          child: undefined,
          restarts: 0,
          restartTimer: undefined,
          status: null,
          signal: null,
          finished: false,
          pid: undefined,
        });
      }
    }
    const width = Math.max(0, ...this.slots.map((s) => s.name.length));
    this.out = new OutputMux({ ...options, nameWidth: width });
  }

  /** Names of the components this supervisor runs. */
  get componentNames(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** Pids of the processes running now, by component name. */
  get pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.slots) if (s.child?.pid !== undefined && !s.finished) out[s.name] = s.child.pid;
    return out;
  }

  /** Starts every component. */
  start(): void {
    if (this.slots.length === 0) {
      this.finish();
      return;
    }
    this.slots.forEach((slot) => this.spawn(slot));
  }

  private env(slot: Slot): NodeJS.ProcessEnv {
    const counts = Object.fromEntries(Object.entries(this.job.components).map(([t, c]) => [t, c.count]));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...slot.spec.env,
      [JOB_ENV.group]: this.group,
      [JOB_ENV.type]: slot.type,
      [JOB_ENV.name]: slot.name,
      [JOB_ENV.index]: String(slot.index),
      [JOB_ENV.restartCount]: String(slot.restarts),
      [JOB_ENV.discovery]: this.options.discovery ?? this.job.discovery,
      [JOB_ENV.components]: JSON.stringify(counts),
      [JOB_ENV.jobFile]: this.job.file,
      [JOB_ENV.args]: JSON.stringify(slot.spec.args),
    };
    if (this.options.metrics) env[JOB_ENV.metricsIntervalMs] = String(this.options.metricsIntervalMs ?? 1000);
    return env;
  }

  private spawn(slot: Slot): void {
    const env = this.env(slot);
    const cwd = this.job.file ? dirname(this.job.file) : process.cwd();
    let child: ChildProcess;
    const entry = slot.spec.entry;
    if (entry.kind === "module") {
      env[JOB_ENV.entry] = `${pathToFileURL(entry.file).href}#${entry.exportName}`;
      child = spawn(
        process.execPath,
        ["--import", import.meta.resolve("tsx"), siblingPath("child-entry"), ...slot.spec.args],
        { cwd, env, stdio: ["ignore", "pipe", "pipe", "ipc"], detached: true },
      );
      child.on("message", (m: unknown) => {
        const msg = m as { weft?: string; metrics?: MetricsSnapshot };
        if (msg?.weft === "metrics" && Array.isArray(msg.metrics))
          this.options.metrics?.report(slot.name, msg.metrics);
      });
    } else {
      // A small guard process runs the command so that it dies with the launcher, whatever kills it.
      env.WEFT_COMMAND = JSON.stringify([...entry.argv, ...slot.spec.args]);
      child = spawn(
        process.execPath,
        ["--import", import.meta.resolve("tsx"), siblingPath("command-guard")],
        {
          cwd,
          env,
          stdio: ["ignore", "pipe", "pipe", "ipc"],
          detached: true,
        },
      );
    }
    slot.child = child;
    slot.pid = child.pid;
    slot.finished = false;
    this.options.metrics?.componentUp(slot.name, slot.type, true);
    this.out.attach(slot.name, this.slots.indexOf(slot), child.stdout, child.stderr);
    let ended = false;
    child.on("error", (err: NodeJS.ErrnoException) => {
      // Spawning failed (ENOENT, EACCES): no exit event follows.
      if (ended || child.pid !== undefined) return;
      ended = true;
      this.exited(
        slot,
        127,
        null,
        `cannot start "${entry.kind === "command" ? entry.argv[0] : ""}": ${err.code ?? err.message}`,
      );
    });
    // Whatever the process left in its group goes with it (and stops holding its output pipes).
    child.on("exit", () => killGroup(child, "SIGKILL"));
    // "close" comes after the last output line, so no line is lost or written after the log files close.
    child.on("close", (code, signal) => {
      if (ended) return;
      ended = true;
      this.exited(slot, code, signal);
    });
    // Stopping was requested while this process was being started.
    if (this.stopping) killGroup(child, "SIGTERM");
  }

  private exited(slot: Slot, status: number | null, signal: NodeJS.Signals | null, why?: string): void {
    const child = slot.child;
    slot.status = status;
    slot.signal = signal;
    slot.finished = true;
    this.options.metrics?.componentUp(slot.name, slot.type, false);
    if (child) killGroup(child, "SIGKILL");
    const reason = why ?? (signal ? `killed by ${signal}` : `exited with status ${status}`);
    if (this.stopping) {
      this.checkDone();
      return;
    }
    if (status === 0) {
      this.out.notice(`${slot.name} ${reason}`, slot.name);
      this.checkDone();
      return;
    }
    if (slot.spec.restart === "on-failure" && slot.restarts < slot.spec.maxRestarts) {
      slot.restarts++;
      this.out.notice(
        `${slot.name} ${reason}; restarting it in ${slot.spec.restartDelayMs} ms (${slot.restarts}/${slot.spec.maxRestarts})`,
        slot.name,
      );
      this.options.metrics?.componentRestarted(slot.name, slot.type);
      slot.finished = false;
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!this.stopping) this.spawn(slot);
        else {
          slot.finished = true;
          this.checkDone();
        }
      }, slot.spec.restartDelayMs);
      return;
    }
    const policy =
      slot.spec.restart === "never"
        ? "restart: never"
        : `restarted ${slot.restarts} times, maxRestarts ${slot.spec.maxRestarts}`;
    this.failed = { name: slot.name, reason: `${reason} (${policy})` };
    this.out.notice(`${slot.name} failed: ${reason} (${policy}); stopping the job`, slot.name);
    this.stop();
  }

  /**
   * Stops every process: SIGTERM to each process group, SIGKILL to what remains after the grace period.
   * A second call (e.g. a second Ctrl-C) sends SIGKILL at once.
   */
  stop(signal?: NodeJS.Signals): void {
    if (signal && !this.stoppedBy && !this.failed) this.stoppedBy = signal;
    if (this.stopping) {
      if (signal) this.killAll("SIGKILL");
      return;
    }
    this.stopping = true;
    for (const s of this.slots) {
      if (s.restartTimer) {
        clearTimeout(s.restartTimer);
        s.restartTimer = undefined;
        s.finished = true;
      }
    }
    this.killAll("SIGTERM");
    this.killTimer = setTimeout(() => this.killAll("SIGKILL"), this.grace);
    this.checkDone();
  }

  private killAll(signal: NodeJS.Signals): void {
    for (const s of this.slots) if (s.child && !s.finished) killGroup(s.child, signal);
  }

  private checkDone(): void {
    if (this.slots.every((s) => s.finished)) this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    const components = this.slots.map((s) => ({
      name: s.name,
      type: s.type,
      status: s.status,
      signal: s.signal,
      restarts: s.restarts,
      pid: s.pid,
    }));
    const outcome: JobOutcome = {
      ok: !this.failed && !this.stoppedBy && components.every((c) => c.status === 0),
      components,
    };
    if (this.failed) outcome.failed = this.failed;
    if (this.stoppedBy) outcome.stoppedBy = this.stoppedBy;
    const groups = this.slots.flatMap((s) => (s.pid !== undefined ? [s.pid] : []));
    void waitGroupsGone(groups, 3000)
      .then(() => this.out.close())
      .then(() => this.resolveDone(outcome));
  }
}
