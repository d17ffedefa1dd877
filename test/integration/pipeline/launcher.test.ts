import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeError } from "../../../src/core/errors.ts";
import { Parallel } from "../../../src/pipeline/index.ts";

const JOB = "./test/helpers/pipeline-job.ts";

void test("3 workers in a mesh: one stops, all exit", async () => {
  await Parallel.runner({ nParallelWorkers: 3 })(`${JOB}#main`);
});

void test("a crashed worker's error reaches the runner with its id and stack", async () => {
  await assert.rejects(Parallel.runner({ nParallelWorkers: 2 })(`${JOB}#crash`), (e: unknown) => {
    assert.ok(e instanceof NodeError);
    assert.equal(e.nodeId, "1");
    assert.equal(e.originalName, "RangeError");
    assert.match(e.originalStack ?? "", /worker exploded[\s\S]*pipeline-job\.ts/);
    return true;
  });
});

void test("autoRecover re-runs main and its later messages arrive", async () => {
  await Parallel.runner({
    nParallelWorkers: 2,
    autoRecover: true,
    maxRetries: 2,
    protocol: "tcp",
    ports: 20000 + Math.floor(Math.random() * 12000),
  })(`${JOB}#recover`);
});

void test("a burst of 100 000 small and 2 000 140 KiB events between two processes is delivered 100 %", async () => {
  await Parallel.runner({ nParallelWorkers: 2 })(`${JOB}#burst`);
});
