import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidDeploymentTemplateError } from "../../../src/core/errors.ts";
import { parseJob, splitCommandLine } from "../../../src/launch/job-schema.ts";
import { parseLaunchArgs } from "../../../src/cli/launch.ts";

function rejects(yaml: string, field: RegExp): void {
  assert.throws(
    () => parseJob(yaml, "/jobs/job.yaml"),
    (err: unknown) => {
      assert.ok(err instanceof InvalidDeploymentTemplateError);
      assert.equal(err.exitStatus, 2);
      assert.match(err.message, /^\/jobs\/job\.yaml: /);
      assert.match(err.message, field);
      return true;
    },
  );
}

void describe("job file", () => {
  void it("fills defaults and resolves module entries relative to the job file", () => {
    const job = parseJob(
      "group: g\ncomponents:\n  learner:\n    run: ./learner.ts#train\n  actor:\n    count: 4\n    run: ../actor.ts\n",
      "/jobs/job.yaml",
    );
    assert.equal(job.discovery, "local");
    assert.equal(job.gracePeriodMs, 5000);
    assert.deepEqual(job.components.learner!.entry, {
      kind: "module",
      file: "/jobs/learner.ts",
      exportName: "train",
    });
    assert.deepEqual(job.components.actor!.entry, { kind: "module", file: "/actor.ts", exportName: "main" });
    assert.equal(job.components.actor!.count, 4);
    assert.equal(job.components.actor!.restart, "never");
    assert.equal(job.components.actor!.maxRestarts, 3);
    assert.deepEqual(job.components.actor!.args, []);
  });

  void it("keeps command lines, with quotes, and turns args and env values into strings", () => {
    const job = parseJob(
      "group: g\ndiscovery: redis://10.0.0.1:6379\ncomponents:\n  tool:\n    run: python3 -c 'print(1)'\n    args: [--n, 3, true]\n    env: { A: 1 }\n    restart: on-failure\n",
    );
    assert.deepEqual(job.components.tool!.entry, { kind: "command", argv: ["python3", "-c", "print(1)"] });
    assert.deepEqual(job.components.tool!.args, ["--n", "3", "true"]);
    assert.deepEqual(job.components.tool!.env, { A: "1" });
    assert.equal(job.discovery, "redis://10.0.0.1:6379");
  });

  void it("names the field of every mistake", () => {
    rejects("components:\n  a: { run: x }\n", /group: /);
    rejects("group: g\ncomponents:\n  a: { count: 0, run: x }\n", /components\.a\.count: .*>=1/);
    rejects("group: g\ncomponents:\n  a: { count: 1.5, run: x }\n", /components\.a\.count: /);
    rejects("group: g\ncomponents:\n  a: { run: '' }\n", /components\.a\.run: /);
    rejects("group: g\ncomponents:\n  a: { run: x, restart: always }\n", /components\.a\.restart: .*never/);
    rejects("group: g\ncomponents:\n  a: { run: x, maxRestarts: -1 }\n", /components\.a\.maxRestarts: /);
    rejects("group: g\ncomponents:\n  a: { run: x, colour: red }\n", /components\.a: .*colour/);
    rejects(
      "group: g\ndiscovery: etcd://x\ncomponents:\n  a: { run: x }\n",
      /discovery: must be "local" or a redis/,
    );
    rejects("group: 'a b'\ncomponents:\n  a: { run: x }\n", /group: may only contain/);
    rejects("group: g\ncomponents: {}\n", /components: must name at least one/);
    rejects(
      "group: g\ncomponents:\n  'bad type': { run: x }\n",
      /components\.bad type: component type may only/,
    );
    rejects("group: g\ncomponents:\n  a: { run: 'sh -c \"x' }\n", /components\.a\.run: unclosed/);
    rejects("group: [\n", /invalid YAML/);
    rejects("- just\n- a list\n", /\(top level\): /);
  });

  void it("splits command lines without a shell", () => {
    assert.deepEqual(splitCommandLine(`node -e "console.log('a b')"  x ''`), [
      "node",
      "-e",
      "console.log('a b')",
      "x",
      "",
    ]);
    assert.throws(() => splitCommandLine("a 'b"), /unclosed/);
  });
});

void describe("weft launch arguments", () => {
  void it("parses the options", () => {
    const { file, options } = parseLaunchArgs([
      "job.yaml",
      "--only",
      "actor,learner.0",
      "--only",
      "x",
      "--quiet",
      "--metrics-port",
      "9464",
      "--grace-ms",
      "100",
      "--log-dir",
      "/tmp/l",
    ]);
    assert.equal(file, "job.yaml");
    assert.deepEqual(options.only, ["actor", "learner.0", "x"]);
    assert.equal(options.quiet, true);
    assert.equal(options.metricsPort, 9464);
    assert.equal(options.gracePeriodMs, 100);
    assert.equal(options.logDir, "/tmp/l");
  });

  void it("rejects bad arguments with exit status 2", () => {
    for (const argv of [
      [],
      ["a.yaml", "b.yaml"],
      ["j.yaml", "--metrics-port", "x"],
      ["j.yaml", "--metrics-port", "70000"],
      ["j.yaml", "--nope"],
    ]) {
      assert.throws(
        () => parseLaunchArgs(argv),
        (e: unknown) => (e as { exitStatus: number }).exitStatus === 2,
      );
    }
  });
});
