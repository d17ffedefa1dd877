/**
 * The job file of `weft launch`: a YAML document naming the group, the discovery and, per component type,
 * how many processes to run, what they run and how they restart. Validated with zod; every mistake is
 * reported with the path of the field.
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { FileOperationError, InvalidDeploymentTemplateError } from "../core/errors.ts";

const NAME = /^[A-Za-z0-9_-]+$/;

const componentSchema = z.strictObject({
  /** Processes of this type. Default 1. */
  count: z.number().int().min(1).max(1024).default(1),
  /** `./file.ts#export` (relative to the job file; default export name `main`) or a command line. */
  run: z.string().trim().min(1),
  /** Extra arguments: `ctx.args` for a module entry, appended to a command line. Default none. */
  args: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).default([]),
  /** Extra environment variables. Default none. */
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** `never` (default): a failure ends the job. `on-failure`: restart under the same name. */
  restart: z.enum(["never", "on-failure"]).default("never"),
  /** Restarts of one process before its failure ends the job. Default 3. */
  maxRestarts: z.number().int().min(0).default(3),
  /** Pause before a restart, so peers notice the failure first. Default 1000 ms. */
  restartDelayMs: z.number().int().min(0).default(1000),
  /**
   * Machine that runs every process of this type when the job is started with `--hosts` (for example
   * the one with the GPU). Default: the processes are dealt over the hosts in turn.
   */
  host: z.string().trim().min(1).optional(),
});

const jobSchema = z.strictObject({
  /** Group name shared by every component (letters, digits, `_`, `-`). */
  group: z.string().regex(NAME, "may only contain letters, digits, _ and -"),
  /** `local` (default) or a `redis://` / `rediss://` URL. */
  discovery: z
    .string()
    .refine((d) => d === "local" || /^rediss?:\/\//.test(d), 'must be "local" or a redis:// URL')
    .default("local"),
  /** Time between SIGTERM and SIGKILL when the job stops. Default 5000 ms. */
  gracePeriodMs: z.number().int().min(0).default(5000),
  /** Component types, e.g. `{ learner: {...}, actor: {...} }`. */
  components: z
    .record(
      z.string().regex(NAME, "component type may only contain letters, digits, _ and -"),
      componentSchema,
    )
    .refine((c) => Object.keys(c).length > 0, "must name at least one component type"),
});

/**
 * One component type of a validated job.
 * @example
 * ```ts
 * const actor: ComponentSpec = job.components.actor!; // { count: 4, run: "./actor.ts#main", restart: "never", … }
 * ```
 */
export type ComponentSpec = z.output<typeof componentSchema>;

/**
 * What a component runs: a module's exported function, or a command line.
 * @example
 * ```ts
 * const entry: EntrySpec = job.components.learner!.entry;
 * if (entry.kind === "module") console.log(entry.file, entry.exportName);
 * else console.log(entry.argv.join(" "));
 * ```
 */
export type EntrySpec =
  { kind: "module"; file: string; exportName: string } | { kind: "command"; argv: string[] };

/**
 * A validated job file.
 * @example
 * ```ts
 * const job: JobSpec = await loadJobFile("job.yaml");
 * console.log(job.group, Object.keys(job.components));
 * ```
 */
export interface JobSpec extends Omit<z.output<typeof jobSchema>, "components"> {
  /** Absolute path of the job file (empty when parsed from text without a path). */
  file: string;
  components: Record<string, ComponentSpec & { entry: EntrySpec }>;
}

const MODULE_ENTRY = /^(\S+\.(?:ts|mts|js|mjs))(?:#([A-Za-z_$][\w$]*))?$/;

/**
 * Splits a command line on spaces, honouring '…' and "…" quotes (no shell is involved).
 * @example
 * ```ts
 * splitCommandLine(`python actor.py --name "actor one"`); // ["python", "actor.py", "--name", "actor one"]
 * ```
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || current) out.push(current);
      current = "";
      has = false;
    } else current += ch;
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (has || current) out.push(current);
  return out;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

/**
 * Validates a job document given as YAML text. `file` names the job file in messages and anchors
 * relative `run` paths.
 *
 * @throws {InvalidDeploymentTemplateError} naming the field, e.g. `job.yaml: components.actor.count: …`
 * @example
 * ```ts
 * const job = parseJob("group: g\ncomponents:\n  worker: { count: 2, run: ./worker.ts#main }\n", "/jobs/job.yaml");
 * job.components.worker.entry; // { kind: "module", file: "/jobs/worker.ts", exportName: "main" }
 * ```
 */
export function parseJob(text: string, file = ""): JobSpec {
  const label = file || "job file";
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new InvalidDeploymentTemplateError(`${label}: invalid YAML: ${doc.errors[0]!.message}`);
  }
  const raw: unknown = doc.toJS();
  const result = jobSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) =>
      i.code === "invalid_key"
        ? `${fieldPath(i.path)}: component type may only contain letters, digits, _ and -`
        : `${fieldPath(i.path)}: ${i.message}`,
    );
    throw new InvalidDeploymentTemplateError(`${label}: ${lines.join("; ")}`);
  }
  const base = file ? dirname(resolve(file)) : process.cwd();
  const components: JobSpec["components"] = {};
  for (const [type, spec] of Object.entries(result.data.components)) {
    const m = MODULE_ENTRY.exec(spec.run);
    let entry: EntrySpec;
    if (m) {
      entry = { kind: "module", file: resolve(base, m[1]!), exportName: m[2] ?? "main" };
    } else {
      let argv: string[];
      try {
        argv = splitCommandLine(spec.run);
      } catch (err) {
        throw new InvalidDeploymentTemplateError(
          `${label}: components.${type}.run: ${(err as Error).message}`,
        );
      }
      entry = { kind: "command", argv };
    }
    components[type] = { ...spec, entry };
  }
  return { ...result.data, file: file ? resolve(file) : "", components };
}

/**
 * Reads and validates a job file.
 * @throws {FileOperationError} when the file cannot be read; {@link InvalidDeploymentTemplateError} when it is invalid.
 * @example
 * ```ts
 * const job = await loadJobFile("examples/cartpole-es/job.yaml");
 * ```
 */
export async function loadJobFile(path: string): Promise<JobSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new FileOperationError(`cannot read job file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseJob(text, path);
}
