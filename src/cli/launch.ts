/**
 * `weft launch JOB.yaml`: starts every process of a job on this machine and supervises them.
 * @module
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { BadRequestError } from "../core/errors.ts";
import { stdoutWantsColor } from "../core/logger.ts";
import { loadJobFile } from "../launch/job-schema.ts";
import { launchJob, type LaunchOptions } from "../launch/launch-job.ts";
import { namesForHost } from "../launch/placement.ts";
import type { CliCommand } from "./command.ts";

const USAGE = `weft launch JOB.yaml [options]

Starts every component of the job (one process each), prefixes their output with the component name,
restarts failed components under the same name when the job says "restart: on-failure", and stops them
all on Ctrl-C / SIGTERM (SIGTERM, then SIGKILL after the grace period).

  --only <types|names>    start only these component types or names, comma-separated
                          (e.g. --only actor or --only actor.2,actor.3; for jobs spanning machines)
  --hosts <a,b,…>         this job spans these machines: run the same command on each, and each starts
                          its share (a type with "host:" in the job file runs there; each other
                          process goes to the least busy host); needs redis:// discovery
  --host <name>           which of --hosts this machine is (default: its hostname)
  --group <name>          override the job's group name
  --discovery <d>         override the job's discovery: local or redis://host:port
  --quiet                 hide the components' stdout (stderr and launcher notices still show)
  --log-dir <dir>         also write each component's output to <dir>/<name>.log
  --metrics-port <port>   serve the job's metrics at http://127.0.0.1:<port>/metrics (0: any free port)
  --metrics-host <host>   interface of the metrics server (default 127.0.0.1)
  --grace-ms <ms>         time between SIGTERM and SIGKILL (default: the job's gracePeriodMs, 5000)

Exit status: 0 when every component exited with 0; 2 for a malformed job file or arguments;
5 when a component failed (the message names it); 130/143 when stopped by SIGINT/SIGTERM.`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new BadRequestError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

/**
 * Parses `weft launch` arguments into the job file path and launch options.
 * @example
 * ```ts
 * parseLaunchArgs(["job.yaml", "--quiet", "--metrics-port", "9464"]);
 * ```
 */
export function parseLaunchArgs(argv: string[]): {
  file: string;
  options: LaunchOptions;
  hosts?: { hosts: string[]; host: string };
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        only: { type: "string", multiple: true },
        hosts: { type: "string", multiple: true },
        host: { type: "string" },
        group: { type: "string" },
        discovery: { type: "string" },
        quiet: { type: "boolean" },
        "log-dir": { type: "string" },
        "metrics-port": { type: "string" },
        "metrics-host": { type: "string" },
        "grace-ms": { type: "string" },
      },
    });
  } catch (e) {
    throw new BadRequestError(`${(e as Error).message}\n\n${USAGE}`, { cause: e });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new BadRequestError(
      `weft launch takes exactly one job file, got ${positionals.length}\n\n${USAGE}`,
    );
  }
  const options: LaunchOptions = { color: stdoutWantsColor() };
  if (values.only) options.only = commaList(values.only);
  if (values.host !== undefined && values.hosts === undefined) {
    throw new BadRequestError("--host only makes sense with --hosts");
  }
  const hosts = values.hosts
    ? { hosts: commaList(values.hosts), host: values.host ?? hostname() }
    : undefined;
  if (hosts && options.only) throw new BadRequestError("use either --only or --hosts, not both");
  if (values.group !== undefined) options.group = values.group;
  if (values.discovery !== undefined) options.discovery = values.discovery;
  if (values.quiet) options.quiet = true;
  if (values["log-dir"] !== undefined) options.logDir = values["log-dir"];
  const port = int("metrics-port", values["metrics-port"]);
  if (port !== undefined) {
    if (port > 65535) throw new BadRequestError(`--metrics-port must be at most 65535, got ${port}`);
    options.metricsPort = port;
  }
  if (values["metrics-host"] !== undefined) options.metricsHost = values["metrics-host"];
  const grace = int("grace-ms", values["grace-ms"]);
  if (grace !== undefined) options.gracePeriodMs = grace;
  return { file: positionals[0]!, options, ...(hosts ? { hosts } : {}) };
}

function commaList(values: string[]): string[] {
  return values.flatMap((o) => o.split(",")).filter((o) => o !== "");
}

/** The `weft launch` subcommand. */
export const command: CliCommand = {
  name: "launch",
  summary: "start and supervise every process of a job described in a YAML file",
  example: "weft launch examples/cartpole-es/job.yaml --metrics-port 9464",
  usage: USAGE,
  async run(argv) {
    const { file, options, hosts } = parseLaunchArgs(argv);
    const job = await loadJobFile(file);
    if (hosts) {
      if (!/^rediss?:\/\//.test(options.discovery ?? job.discovery)) {
        throw new BadRequestError(
          "--hosts needs Redis discovery so the machines can find each other: " +
            'set "discovery: redis://…" in the job file or pass --discovery redis://host:6379',
        );
      }
      options.only = namesForHost(job, hosts.hosts, hosts.host);
      process.stderr.write(`[weft] host ${hosts.host} starts ${options.only.join(", ")}\n`);
    }
    return launchJob(job, options);
  },
};
