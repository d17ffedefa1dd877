import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { trainInProcess } from "../../../examples/cartpole-es/es.ts";
import { ROOT, launchRegistered, weftLaunchArgv } from "../launch/helpers.ts";

const children: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** The whole algorithm in one process: the reference the distributed run must reproduce. */
function inProcess(seed: number): { params: string; iterations: number; score: number } {
  const { es, iterations } = trainInProcess(seed);
  return { params: Array.from(es.params, (p) => p.toFixed(6)).join(" "), iterations, score: es.evaluate() };
}

void describe("examples/cartpole-es", () => {
  void it("solves CartPole in process for several seeds, deterministically", () => {
    for (const seed of [1, 2, 3]) {
      const a = inProcess(seed);
      assert.ok(a.score >= 475, `seed ${seed} scored ${a.score}`);
      assert.ok(a.iterations <= 100);
      assert.deepEqual(inProcess(seed), a, "same seed, same result");
    }
  });

  void it("npm start trains across 5 processes: score ≥ 475, every process exits 0, same result as in process", async () => {
    // `npm start` runs `weft launch examples/cartpole-es/job.yaml`; until the CLI registers the launch
    // command, the same job runs through the launch command directly.
    const [cmd, args] = launchRegistered()
      ? ["npm", ["start", "--silent"]]
      : [process.execPath, weftLaunchArgv(["examples/cartpole-es/job.yaml"])];
    const child = spawn(cmd, args as string[], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const status = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGTERM");
        reject(new Error(`npm start did not finish within 3 minutes:\n${out}`));
      }, 180_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(status, 0, out);
    const score = /evaluation: average return (\d+(?:\.\d+)?) over 20 episodes after (\d+) iterations/.exec(
      out,
    );
    assert.ok(score, `no evaluation line in:\n${out}`);
    assert.ok(Number(score[1]) >= 475, `score ${score[1]}`);
    assert.ok(Number(score[2]) <= 100);
    assert.match(
      out,
      /learner\.0 +\| iteration +1 \| mean return +[\d.]+ \| best return +[\d.]+ \| \d+ msg\/s/,
    );
    for (const name of ["learner.0", "actor.0", "actor.1", "actor.2", "actor.3"]) {
      assert.match(out, new RegExp(`\\[weft\\] ${name.replace(".", "\\.")} exited with status 0`));
    }
    assert.match(out, /5 of 5 processes exited with status 0/);
    const reference = inProcess(1);
    assert.match(
      out,
      new RegExp(`params: ${reference.params}`),
      "the distributed run matches the in-process run",
    );
  });
});
