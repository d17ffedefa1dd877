/**
 * `weft pipeline`: starts a pipeline job (DI-engine's `ditask`).
 * @module
 */
import { parseArgs } from "node:util";
import { BadRequestError } from "../core/errors.ts";
import { Parallel, placementFromEnv, type RunnerOptions } from "../pipeline/index.ts";
import { readCurveKeyFile } from "../transport/curve.ts";
import type { CliCommand } from "./command.ts";

const USAGE = `weft pipeline --main <file.ts#export> [options]

Starts --parallel-workers worker processes linked by --topology; each runs the exported main function.
Under Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST) or with WEFT_NODES / WEFT_RANK, each process
is one node of a tcp mesh spanning the listed hosts: node id = rank, node i on host i, port --ports + i.

  --main <file#fn>          entry to run in every worker (required; "#main" when omitted)
  --parallel-workers <n>    number of worker processes (default 1)
  --topology mesh|star|alone  how nodes are linked (default mesh)
  --protocol ipc|tcp        transport between workers (default ipc; tcp for multi-machine jobs)
  --ports <port>            tcp: node i binds port + i (default 50515)
  --address <host>          tcp host (default 127.0.0.1)
  --bind-address <host>     interface to bind (default: the node's address; 0.0.0.0 for all)
  --attach-to tcp://h:p,…   endpoints of nodes of another job to link to
  --redis-url <url>         find the job's nodes through Redis (with --job-id on every machine)
  --job-id <name>           job name shared by all runners of the job (default random)
  --labels a,b              labels of every worker
  --node-ids <n>            id of the first worker (default: rank from SLURM_PROCID or WEFT_RANK, else 0)
  --auto-recover            re-run main after an error
  --max-retries <n>         re-runs with --auto-recover (default 3)
  --startup-interval <ms>   pause between starting two workers (default 0)
  --curve-key-file <file>   tcp: encrypt and authenticate every link with this key pair (from
                            "weft keys generate"; every runner of the job uses the same file)`;

/**
 * Parses `weft pipeline` arguments (and the Slurm / WEFT_* environment) into the entry and runner options.
 * @example
 * ```ts
 * parsePipelineArgs(["--main", "./job.ts#main", "--parallel-workers", "2"], {});
 * ```
 */
export function parsePipelineArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { entry: string; options: RunnerOptions } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        main: { type: "string" },
        "parallel-workers": { type: "string" },
        topology: { type: "string" },
        protocol: { type: "string" },
        ports: { type: "string" },
        address: { type: "string" },
        labels: { type: "string" },
        "node-ids": { type: "string" },
        "auto-recover": { type: "boolean" },
        "max-retries": { type: "string" },
        "attach-to": { type: "string" },
        "redis-url": { type: "string" },
        "bind-address": { type: "string" },
        "job-id": { type: "string" },
        "startup-interval": { type: "string" },
        "curve-key-file": { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new BadRequestError(`${(e as Error).message}\n\n${USAGE}`, { cause: e });
  }
  if (values.main === undefined) throw new BadRequestError(`--main is required\n\n${USAGE}`);
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new BadRequestError(`--${name} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const protocol = values.protocol ?? "ipc";
  if (protocol !== "ipc" && protocol !== "tcp")
    throw new BadRequestError(`--protocol must be ipc or tcp, got "${protocol}"`);
  const topology = values.topology ?? "mesh";
  if (topology !== "mesh" && topology !== "star" && topology !== "alone")
    throw new BadRequestError(`--topology must be mesh, star or alone, got "${topology}"`);
  const options: RunnerOptions = { protocol, topology };
  const n = int("parallel-workers", values["parallel-workers"]);
  if (n !== undefined) options.nParallelWorkers = n;
  const ports = int("ports", values.ports);
  if (ports !== undefined) options.ports = ports;
  if (values.address !== undefined) options.address = values.address;
  if (values.labels !== undefined) options.labels = values.labels.split(",").filter((l) => l !== "");
  let placement;
  try {
    placement = placementFromEnv(env);
  } catch (e) {
    throw new BadRequestError(`cluster environment: ${(e as Error).message}`, { cause: e });
  }
  const nodeIds = int("node-ids", values["node-ids"]) ?? placement?.rank;
  if (nodeIds !== undefined) options.nodeIds = nodeIds;
  if (placement !== undefined && placement.worldSize > 1) {
    // One process per rank, all ranks linked over tcp on the hosts the scheduler gave.
    options.nodeAddresses = placement.hosts;
    options.protocol = "tcp";
    options.nParallelWorkers ??= 1;
    if (values["bind-address"] === undefined) options.bindAddress = "0.0.0.0";
  }
  if (values["attach-to"] !== undefined) {
    const list = values["attach-to"].split(",").filter((a) => a !== "");
    for (const a of list)
      if (!/^(tcp|ipc):\/\/.+/.test(a))
        throw new BadRequestError(`--attach-to "${a}" is not tcp://host:port or ipc://path`);
    options.attachTo = list;
  }
  if (values["redis-url"] !== undefined) options.redisUrl = values["redis-url"];
  if (values["bind-address"] !== undefined) options.bindAddress = values["bind-address"];
  if (values["job-id"] !== undefined) options.jobId = values["job-id"];
  else if (env.SLURM_JOB_ID !== undefined && placement !== undefined)
    options.jobId = `slurm-${env.SLURM_JOB_ID}`;
  if (options.redisUrl !== undefined && options.jobId === undefined)
    throw new BadRequestError("--redis-url needs --job-id: the name every runner of the job registers under");
  const interval = int("startup-interval", values["startup-interval"]);
  if (interval !== undefined) options.startupIntervalMs = interval;
  if (values["auto-recover"] === true) options.autoRecover = true;
  const retries = int("max-retries", values["max-retries"]);
  if (retries !== undefined) options.maxRetries = retries;
  const keyFile = values["curve-key-file"];
  if (keyFile !== undefined) {
    // CURVE applies to tcp links only: refusing it with ipc beats a job that silently runs unencrypted.
    if (options.protocol !== "tcp") {
      throw new BadRequestError("--curve-key-file needs --protocol tcp (ipc links stay on this machine)");
    }
    try {
      options.curve = readCurveKeyFile(keyFile);
    } catch (e) {
      throw new BadRequestError(`--curve-key-file: ${(e as Error).message}`, { cause: e });
    }
  }
  const entry = values.main.includes("#") ? values.main : `${values.main}#main`;
  return { entry, options };
}

/** The `weft pipeline` subcommand. */
export const command: CliCommand = {
  name: "pipeline",
  summary: "start a pipeline job of worker processes (like DI-engine's ditask)",
  example: "weft pipeline --main ./job.ts#main --parallel-workers 4 --topology mesh",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { entry, options } = parsePipelineArgs(argv);
    await Parallel.runner(options)(entry);
    return 0;
  },
};
