/**
 * `weft tube run|check|graph`: run a tube spec, validate it, or draw its graph.
 * @module
 */
import { readFileSync } from "node:fs";
import { BadRequestError } from "../core/errors.ts";
import { AsyncRunner } from "../tube/runners/async.ts";
import { SynchronousRunner } from "../tube/runners/sync.ts";
import { ZMQRunner } from "../tube/zmq/runner.ts";
import { renderDot, renderGenerations, renderMermaid } from "../tube/render.ts";
import { loadSpec } from "../tube/spec.ts";
import { Tube } from "../tube/tube.ts";
import type { CliCommand } from "./command.ts";

const USAGE = `Usage:
  weft tube run SPEC [--runner sync|async|zmq] [--protocol ipc|tcp] [-n N] [-i key=value …] [--stdin] [--json | --jsonl]
  weft tube check SPEC
  weft tube graph SPEC [--format mermaid|dot]

run     runs N epochs (default 1) and prints each return value (--json: one JSON array, --jsonl: one line
        per epoch). -i sets an input (value parsed as JSON, else kept as a string); tube-scoped inputs bind
        at load, process-scoped ones go to every epoch. --stdin reads one JSON object of process inputs per
        line (JSONL) or one JSON array of them, and runs one epoch per object.
        --protocol (zmq runner): ipc (default) or tcp, which is CURVE-encrypted.
check   validates the spec (modules included) and prints its generations.
graph   prints the graph as Mermaid (default) or DOT.`;

interface Parsed {
  sub: string;
  spec: string;
  runner: string;
  protocol: string;
  n: number;
  inputs: Record<string, unknown>;
  stdin: boolean;
  output: "text" | "json" | "jsonl";
  format: string;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parse(argv: string[]): Parsed {
  const [sub, ...rest] = argv;
  if (sub === undefined || !["run", "check", "graph"].includes(sub)) {
    throw new BadRequestError(`weft tube: expected run, check or graph, got ${sub ?? "nothing"}\n${USAGE}`);
  }
  const out: Parsed = {
    sub,
    spec: "",
    runner: "sync",
    protocol: "ipc",
    n: 1,
    inputs: {},
    stdin: false,
    output: "text",
    format: "mermaid",
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const next = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new BadRequestError(`weft tube: ${arg} needs a value`);
      return v;
    };
    if (arg === "--runner") out.runner = next();
    else if (arg === "--protocol") {
      out.protocol = next();
      if (out.protocol !== "ipc" && out.protocol !== "tcp")
        throw new BadRequestError(`weft tube: --protocol must be ipc or tcp, got ${out.protocol}`);
    } else if (arg === "-n") {
      out.n = Number(next());
      if (!Number.isInteger(out.n) || out.n < 0)
        throw new BadRequestError(`weft tube: -n must be a whole number ≥ 0`);
    } else if (arg === "-i" || arg === "--input") {
      const kv = next();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new BadRequestError(`weft tube: -i expects key=value, got "${kv}"`);
      out.inputs[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
    } else if (arg === "--stdin") out.stdin = true;
    else if (arg === "--json") out.output = "json";
    else if (arg === "--jsonl") out.output = "jsonl";
    else if (arg === "--format") out.format = next();
    else if (arg.startsWith("-")) throw new BadRequestError(`weft tube: unknown option ${arg}\n${USAGE}`);
    else if (out.spec === "") out.spec = arg;
    else throw new BadRequestError(`weft tube: unexpected argument ${arg}`);
  }
  if (out.spec === "") throw new BadRequestError(`weft tube ${sub}: give the spec file\n${USAGE}`);
  return out;
}

function toJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v: unknown) =>
    ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v,
  );
}

function readStdinInputs(): Record<string, unknown>[] {
  const text = readFileSync(0, "utf8").trim();
  if (text === "") return [];
  try {
    if (text.startsWith("[")) return JSON.parse(text) as Record<string, unknown>[];
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch (err) {
    throw new BadRequestError(`weft tube: stdin is not JSON or JSONL: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function run(p: Parsed): Promise<number> {
  const specPreview = loadSpec(p.spec);
  const tubeInputs: Record<string, unknown> = {};
  const processInputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.inputs)) {
    if (specPreview.input[k]?.scope === "process") processInputs[k] = v;
    else tubeInputs[k] = v;
  }
  const tube = await Tube.fromSpecification(p.spec, { input: tubeInputs });
  if (p.runner !== "sync" && p.runner !== "async" && p.runner !== "zmq") {
    throw new BadRequestError(`weft tube: --runner ${p.runner} is not available; use sync, async or zmq`);
  }
  const runner =
    p.runner === "zmq"
      ? new ZMQRunner(tube, { protocol: p.protocol === "tcp" ? "tcp" : "ipc" })
      : p.runner === "async"
        ? new AsyncRunner(tube)
        : new SynchronousRunner(tube);
  const results: unknown[] = [];
  const emit = (v: unknown): void => {
    if (p.output === "json") results.push(v);
    else if (p.output === "jsonl") console.log(toJson(v));
    else console.log(typeof v === "string" ? v : toJson(v));
  };
  try {
    if (p.stdin) {
      for (const inputs of readStdinInputs()) emit(await runner.process({ ...processInputs, ...inputs }));
    } else {
      for await (const v of runner.iter(p.n, processInputs)) emit(v);
    }
  } finally {
    await runner.deinit();
  }
  if (p.output === "json") console.log(toJson(results));
  return 0;
}

/** The `weft tube` subcommand. */
export const command: CliCommand = {
  name: "tube",
  summary: "run, check or draw a YAML dataflow graph (tube)",
  example: "weft tube run examples/tube/word-letters.yaml -n 1 -i word=hello --json",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    const p = parse(argv);
    if (p.sub === "run") return run(p);
    const spec = loadSpec(p.spec);
    if (p.sub === "check") {
      await Tube.fromSpecification(p.spec, { input: p.inputs }).catch((err: unknown) => {
        // Missing tube inputs are not a spec error: check validates the graph and its modules.
        if (!(err instanceof Error && err.name === "InputMissingError")) throw err;
      });
      console.log(`${spec.source}: ok (${Object.keys(spec.nodes).length} nodes)`);
      console.log(renderGenerations(spec));
      return 0;
    }
    if (p.format !== "mermaid" && p.format !== "dot") {
      throw new BadRequestError(`weft tube graph: --format must be mermaid or dot, got ${p.format}`);
    }
    console.log(p.format === "dot" ? renderDot(spec) : renderMermaid(spec));
    return 0;
  },
};
