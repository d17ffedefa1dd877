// The example tubes, run through the library and through `weft tube`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BadRequestError } from "../../../src/core/errors.ts";
import { command } from "../../../src/cli/tube.ts";
import { AsyncRunner, SynchronousRunner, Tube } from "../../../src/tube/index.ts";

const EX = new URL("../../../examples/tube/", import.meta.url).pathname;

async function cli(argv: string[]): Promise<{ status: number; out: string[] }> {
  const out: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void out.push(args.map(String).join(" "));
  try {
    return { status: await command.run(argv), out };
  } finally {
    console.log = original;
  }
}

void describe("tube examples", () => {
  void it("word-letters: map + gather", async () => {
    const tube = await Tube.fromSpecification(`${EX}word-letters.yaml`);
    await using runner = new AsyncRunner(tube);
    assert.deepEqual(await runner.process({ word: "tube" }), { word: "TUBE", count: 4 });
  });
  void it("signal chain over Float32Array frames", async () => {
    const tube = await Tube.fromSpecification(`${EX}signal.yaml`, { input: { gain: 3 } });
    await using runner = new SynchronousRunner(tube);
    const [first] = (await runner.run(2)) as { rms: number; peak: number }[];
    assert.ok(first);
    assert.ok(Math.abs(first.peak - 3) < 0.01, `peak ${first.peak}`);
    assert.ok(Math.abs(first.rms - 3 / Math.SQRT2) < 0.05, `rms ${first.rms}`);
  });
  void it("linear4", async () => {
    await using runner = new SynchronousRunner(await Tube.fromSpecification(`${EX}linear4.yaml`));
    assert.deepEqual(await runner.run(3), [3, 4, 5]);
  });
});

void describe("weft tube CLI", () => {
  void it("run -n with --json and --runner async", async () => {
    const r = await cli(["run", `${EX}linear4.yaml`, "-n", "3", "--json", "--runner", "async"]);
    assert.equal(r.status, 0);
    assert.deepEqual(r.out, ["[3,4,5]"]);
  });
  void it("run --runner zmq --protocol tcp", async () => {
    const r = await cli([
      "run",
      `${EX}linear4.yaml`,
      "-n",
      "4",
      "--runner",
      "zmq",
      "--protocol",
      "tcp",
      "--jsonl",
    ]);
    assert.equal(r.status, 0);
    assert.deepEqual(r.out, ["3", "4", "5", "6"]);
  });
  void it("run with -i and --jsonl", async () => {
    const r = await cli(["run", `${EX}word-letters.yaml`, "-i", "word=abc", "--jsonl"]);
    assert.deepEqual(r.out, ['{"word":"ABC","count":3}']);
  });
  void it("run word-letters (map + gather) with --runner zmq", async () => {
    const r = await cli(["run", `${EX}word-letters.yaml`, "--runner", "zmq", "-i", "word=weft", "--jsonl"]);
    assert.equal(r.status, 0);
    assert.deepEqual(r.out, ['{"word":"WEFT","count":4}']);
  });
  void it("check prints generations", async () => {
    const r = await cli(["check", `${EX}word-letters.yaml`]);
    assert.equal(r.status, 0);
    assert.match(r.out.join("\n"), /ok \(5 nodes\)\n0: letters\n1: upper\n2: gathered\n3: word\n4: out/);
  });
  void it("graph as mermaid and dot", async () => {
    const m = await cli(["graph", `${EX}linear4.yaml`]);
    assert.match(m.out[0]!, /^flowchart TD\n/);
    assert.match(m.out[0]!, /count --> a/);
    const d = await cli(["graph", `${EX}linear4.yaml`, "--format", "dot"]);
    assert.match(d.out[0]!, /"a" -> "b";/);
  });
  void it("bad arguments are a BadRequestError", async () => {
    await assert.rejects(cli(["fly", "x"]), BadRequestError);
    await assert.rejects(cli(["run", `${EX}linear4.yaml`, "-n", "x"]), /-n must be/);
    await assert.rejects(cli(["run", `${EX}linear4.yaml`, "--runner", "gpu"]), /not available/);
    await assert.rejects(
      cli(["run", `${EX}linear4.yaml`, "--protocol", "udp"]),
      /--protocol must be ipc or tcp/,
    );
  });
});
