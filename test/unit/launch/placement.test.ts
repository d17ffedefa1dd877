import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hostname } from "node:os";
import { BadRequestError } from "../../../src/core/errors.ts";
import { parseJob } from "../../../src/launch/job-schema.ts";
import { namesForHost, placeJob } from "../../../src/launch/placement.ts";
import { parseLaunchArgs } from "../../../src/cli/launch.ts";

const JOB = parseJob(
  "group: g\ndiscovery: redis://127.0.0.1:6379\ncomponents:\n" +
    "  learner: { run: ./l.ts, host: gpu1 }\n  actor: { count: 4, run: ./a.ts }\n  evaluator: { run: ./e.ts }\n",
  "/jobs/job.yaml",
);

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestError);
    assert.match(err.message, message);
    return true;
  });
}

void describe("placement over --hosts", () => {
  void it("keeps pinned types on their host and gives each other process to the least busy host", () => {
    assert.deepEqual(placeJob(JOB, ["gpu1", "cpu1"]), [
      { host: "gpu1", names: ["learner.0", "actor.1", "actor.3"] },
      { host: "cpu1", names: ["actor.0", "actor.2", "evaluator.0"] },
    ]);
    assert.deepEqual(namesForHost(JOB, ["cpu1", "cpu2", "gpu1"], "cpu2"), ["actor.1", "actor.3"]);
  });

  void it("places every process exactly once whatever the number of hosts", () => {
    const all = ["learner.0", "actor.0", "actor.1", "actor.2", "actor.3", "evaluator.0"];
    for (let n = 1; n <= 6; n++) {
      const hosts = ["gpu1", ...Array.from({ length: n - 1 }, (_, i) => `h${i}`)];
      const placed = placeJob(JOB, hosts).flatMap((s) => s.names);
      assert.deepEqual([...placed].sort(), [...all].sort(), `${n} hosts`);
    }
  });

  void it("rejects unknown, repeated, missing and idle hosts with a message saying what to change", () => {
    badRequest(
      () => namesForHost(JOB, ["gpu1", "cpu1"], "cpu9"),
      /"cpu9", which is not one of --hosts gpu1,cpu1/,
    );
    badRequest(() => placeJob(JOB, ["cpu1", "cpu2"]), /components\.learner\.host is "gpu1"/);
    badRequest(() => placeJob(JOB, ["gpu1", "gpu1"]), /names "gpu1" twice/);
    badRequest(() => placeJob(JOB, []), /at least one machine/);
    const hosts = ["gpu1", "a", "b", "c", "d", "e", "f"];
    badRequest(() => namesForHost(JOB, hosts, "f"), /host "f" gets no process/);
  });

  void it("parses --hosts and --host; --host defaults to the hostname", () => {
    assert.equal(parseLaunchArgs(["job.yaml", "--hosts", "a"]).hosts?.host, hostname());
    const parsed = parseLaunchArgs(["job.yaml", "--hosts", "a,b", "--hosts", "c", "--host", "b"]);
    assert.deepEqual(parsed.hosts, { hosts: ["a", "b", "c"], host: "b" });
    assert.equal(parsed.options.only, undefined);
    badRequest(() => parseLaunchArgs(["job.yaml", "--host", "b"]), /--host only makes sense with --hosts/);
    badRequest(
      () => parseLaunchArgs(["job.yaml", "--hosts", "a", "--only", "actor"]),
      /either --only or --hosts/,
    );
  });
});
