/**
 * Placement of a job's processes over several machines for `weft launch --hosts`: every machine runs the
 * same command and starts its own share, so nobody has to write one `--only` list per machine.
 * @module
 */
import { BadRequestError } from "../core/errors.ts";
import type { JobSpec } from "./job-schema.ts";

/**
 * One machine's share of a job.
 * @example
 * ```ts
 * for (const { host, names } of placeJob(job, ["gpu1", "cpu1"])) console.log(host, names.join(", "));
 * ```
 */
export interface HostShare {
  /** The machine. */
  host: string;
  /** Component names (`learner.0`, `actor.3`) it runs, in job-file order. */
  names: string[];
}

/**
 * Splits a job's processes over `hosts`. A component type with `host:` in the job file runs all its
 * processes on that machine; every other process goes, in job-file order, to the machine with the
 * fewest processes so far (the first listed on a tie), so the split is the same on every machine.
 *
 * @throws {BadRequestError} when `hosts` is empty or repeats a name, or a `host:` of the job is not listed.
 * @example
 * ```ts
 * // learner: { host: gpu1 }, actor: { count: 4 }
 * placeJob(job, ["gpu1", "cpu1"]);
 * // [{ host: "gpu1", names: ["learner.0", "actor.1", "actor.3"] },
 * //  { host: "cpu1", names: ["actor.0", "actor.2"] }]
 * ```
 */
export function placeJob(job: JobSpec, hosts: readonly string[]): HostShare[] {
  if (hosts.length === 0) throw new BadRequestError("--hosts needs at least one machine name");
  const duplicate = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (duplicate !== undefined) throw new BadRequestError(`--hosts names "${duplicate}" twice`);
  const shares = hosts.map((host) => ({ host, names: [] as string[] }));
  const dealt: string[] = [];
  for (const [type, spec] of Object.entries(job.components)) {
    const names = Array.from({ length: spec.count }, (_, index) => `${type}.${index}`);
    if (spec.host === undefined) {
      dealt.push(...names);
      continue;
    }
    const pinned = shares.find((s) => s.host === spec.host);
    if (pinned === undefined) {
      throw new BadRequestError(
        `components.${type}.host is "${spec.host}", which is not one of --hosts ${hosts.join(",")}; ` +
          "add it to --hosts or change the job file",
      );
    }
    pinned.names.push(...names);
  }
  for (const name of dealt) {
    // The machine with the fewest processes so far; the first listed on a tie.
    const share = shares.reduce((best, s) => (s.names.length < best.names.length ? s : best));
    share.names.push(name);
  }
  return shares;
}

/**
 * The component names `host` starts under `--hosts`.
 *
 * @throws {BadRequestError} when `host` is not listed or its share is empty.
 * @example
 * ```ts
 * const only = namesForHost(job, ["gpu1", "cpu1"], os.hostname());
 * ```
 */
export function namesForHost(job: JobSpec, hosts: readonly string[], host: string): string[] {
  const share = placeJob(job, hosts).find((s) => s.host === host);
  if (share === undefined) {
    throw new BadRequestError(
      `this machine is "${host}", which is not one of --hosts ${hosts.join(",")}; ` +
        "pass --host <one of them> to say which share to start",
    );
  }
  if (share.names.length === 0) {
    throw new BadRequestError(
      `host "${host}" gets no process of this job (${hosts.length} hosts for fewer processes); ` +
        "list fewer --hosts",
    );
  }
  return share.names;
}
