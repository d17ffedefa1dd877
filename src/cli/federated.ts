/**
 * `weft federated serve|node`: run a researcher server, or a node that runs tasks with a function from a
 * module.
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { BadRequestError, FileOperationError } from "../core/errors.ts";
import { InternalLogger } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import {
  NodeClient,
  ResearcherServer,
  type ClientTlsOptions,
  type ServerTlsOptions,
} from "../federated/index.ts";
import type { CliCommand } from "./command.ts";

const USAGE = `Usage:
  weft federated serve [--host 127.0.0.1] [--port 50051] [--tls-cert server.crt --tls-key server.key]
                       [--tls-ca ca.crt --mtls] [--disconnect-timeout-ms 10000]
  weft federated node --id n1 --researcher localhost:50051 --task-module ./train.ts#train
                      [--tls-ca ca.crt] [--tls-cert n1.crt --tls-key n1.key] [--tls-fingerprint AB:CD:…]

serve runs a researcher until SIGINT/SIGTERM, printing node status changes and feedback.
node connects to the researcher (reconnecting while it is down) and answers every task with the value the
exported function returns for (task, context).`;

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new FileOperationError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function waitForSignal(): Promise<void> {
  // The node's reconnection timers do not hold the process open (a library must not), so a node whose
  // researcher is not up yet would otherwise just exit; this timer keeps it alive until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((r) => {
    const done = (): void => {
      clearInterval(keepAlive);
      r();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

/**
 * Loads a task module. TypeScript files go through tsx's own loader so that a `.ts` file outside an
 * ESM package (no `"type": "module"`) still loads as a module.
 */
async function loadModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(file)).href;
  if (/\.[mc]?ts$/.test(file)) {
    const { tsImport } = (await import("tsx/esm/api")) as {
      tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>>;
    };
    return tsImport(url, import.meta.url);
  }
  return (await import(url)) as Record<string, unknown>;
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "50051" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-ca": { type: "string" },
      mtls: { type: "boolean", default: false },
      "disconnect-timeout-ms": { type: "string", default: "10000" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new BadRequestError(`--port ${values.port} is not a port number\n\n${USAGE}`);
  let tls: ServerTlsOptions | undefined;
  const cert = readPem(values["tls-cert"], "--tls-cert");
  const key = readPem(values["tls-key"], "--tls-key");
  if ((cert === undefined) !== (key === undefined))
    throw new BadRequestError("--tls-cert and --tls-key go together");
  if (cert !== undefined && key !== undefined) {
    const ca = readPem(values["tls-ca"], "--tls-ca");
    if (values.mtls && ca === undefined)
      throw new BadRequestError("--mtls needs --tls-ca (the CA of node certificates)");
    tls = { cert, key, ...(ca !== undefined ? { ca } : {}), requireClientCert: values.mtls };
  }
  const log = new InternalLogger("federated.serve");
  const server = new ResearcherServer({
    nodeDisconnectionTimeoutMs: Number(values["disconnect-timeout-ms"]),
    logger: log,
  });
  server.onNodeStatus((id, status) => console.log(`node ${id}: ${status}`));
  server.onMessage((e) =>
    console.log(
      e.kind === "log"
        ? `[${e.nodeId}] ${e.level} ${e.text}`
        : e.kind === "scalar"
          ? `[${e.nodeId}] ${e.name}=${e.value} step ${e.step}`
          : `[${e.nodeId}] message ${e.message.tag}`,
    ),
  );
  const bound = await server.start({ host: values.host, port, ...(tls !== undefined ? { tls } : {}) });
  console.log(
    `researcher ${server.researcherId} listening on ${values.host}:${bound.port}${tls ? " (TLS)" : ""}`,
  );
  await waitForSignal();
  await server.stop();
  return 0;
}

async function node(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: "string" },
      researcher: { type: "string", multiple: true },
      "task-module": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-fingerprint": { type: "string" },
    },
  });
  if (values.id === undefined) throw new BadRequestError(`--id is required\n\n${USAGE}`);
  if (values.researcher === undefined)
    throw new BadRequestError(`--researcher host:port is required\n\n${USAGE}`);
  if (values["task-module"] === undefined)
    throw new BadRequestError(`--task-module ./file.ts#export is required\n\n${USAGE}`);
  const [file, exportName = "default"] = values["task-module"].split("#") as [string, string?];
  let mod: Record<string, unknown>;
  try {
    mod = await loadModule(file);
  } catch (err) {
    throw new FileOperationError(`cannot load task module ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const fn = mod[exportName];
  if (typeof fn !== "function") throw new BadRequestError(`${file} has no exported function "${exportName}"`);
  const ca = readPem(values["tls-ca"], "--tls-ca");
  const cert = readPem(values["tls-cert"], "--tls-cert");
  const key = readPem(values["tls-key"], "--tls-key");
  const tls: ClientTlsOptions | undefined =
    ca === undefined
      ? undefined
      : {
          ca,
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          ...(values["tls-fingerprint"] ? { fingerprint256: values["tls-fingerprint"] } : {}),
        };
  const researchers = values.researcher.map((r) => {
    const i = r.lastIndexOf(":");
    const port = Number(r.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port)) throw new BadRequestError(`--researcher ${r} is not host:port`);
    return { host: r.slice(0, i), port, ...(tls !== undefined ? { tls } : {}) };
  });
  const client = new NodeClient({
    nodeId: values.id,
    researchers,
    onTask: (task: Message, ctx) => (fn as (t: Message, c: unknown) => unknown)(task, ctx),
  });
  client.start();
  console.log(`node ${values.id} connecting to ${values.researcher.join(", ")}`);
  await waitForSignal();
  await client.stop();
  return 0;
}

/** The `weft federated` subcommand. @example `weft federated serve --port 50051` */
export const command: CliCommand = {
  name: "federated",
  summary: "run a federated researcher server or a node (gRPC, Fed-BioMed style)",
  example: "weft federated node --id n1 --researcher localhost:50051 --task-module ./train.ts#train",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === "serve") return serve(rest);
    if (sub === "node") return node(rest);
    if (sub === "--help" || sub === "-h" || sub === undefined) {
      console.log(USAGE);
      return sub === undefined ? 2 : 0;
    }
    throw new BadRequestError(`unknown federated subcommand "${sub}"; use serve or node\n\n${USAGE}`);
  },
};
