import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Parallel } from "../../../src/pipeline/index.ts";

const MAIN = "./examples/distributed-dqn/main.ts#main";

void test("distributed DQN: 50 learner iterations, every batch and every model version arrives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-dqn-"));
  const saved = { ...process.env };
  try {
    // Workers inherit the environment when the runner forks them.
    process.env.WEFT_DQN_ITERATIONS = "50";
    process.env.WEFT_DQN_REPORT = dir;
    const run = Parallel.runner({ nParallelWorkers: 4 })(MAIN);
    delete process.env.WEFT_DQN_ITERATIONS;
    delete process.env.WEFT_DQN_REPORT;
    await run;
    const node = (i: number): Record<string, any> =>
      JSON.parse(readFileSync(join(dir, `node-${i}.json`), "utf8")) as Record<string, any>;
    const learner = node(0);
    const evaluator = node(1);
    const collectors = [node(2), node(3)];
    assert.equal(learner.role, "learner");
    assert.ok(learner.iterations >= 50, `learner ran ${learner.iterations} iterations`);
    assert.equal(learner.allBatchesArrived, true);
    assert.equal(learner.badBatches, 0);
    assert.deepEqual(Object.keys(learner.collectorLastSteps).sort(), ["2", "3"]);
    for (const [c, last] of Object.entries(learner.collectorLastSteps as Record<string, number>))
      assert.equal(learner.batches[c], last + 1, `batches of collector ${c}`);
    assert.equal(evaluator.role, "evaluator");
    assert.equal(evaluator.evaluated, 50);
    assert.ok(evaluator.score !== 0, "the evaluator scored a trained model");
    assert.equal(evaluator.lastVersion, learner.iterations);
    assert.equal(evaluator.allModelsArrived, true);
    assert.equal(evaluator.badModels, 0);
    for (const c of collectors) {
      assert.equal(c.role, "collector");
      assert.equal(c.lastVersion, learner.iterations);
      assert.equal(c.versions, learner.iterations);
      assert.equal(c.allModelsArrived, true);
      assert.equal(c.badModels, 0);
    }
  } finally {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
