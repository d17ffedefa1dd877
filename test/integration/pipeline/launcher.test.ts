import { test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { NodeError } from "../../../src/core/errors.ts";
import { pidAlive as alive } from "../../../src/discovery/local-registry.ts";
import { Parallel } from "../../../src/pipeline/index.ts";

const JOB = "./test/helpers/pipeline-job.ts";
const PARENT = fileURLToPath(new URL("../../helpers/pipeline-runner-parent.ts", import.meta.url));

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

void test("a worker that fails with its task loop still running exits, and the runner rejects", async () => {
  const run = Parallel.runner({ nParallelWorkers: 2 })(`${JOB}#failWhileRunning`);
  await assert.rejects(deadline(run, 30_000, "the runner never learned of the failure"), (e: unknown) => {
    assert.ok(e instanceof NodeError, String(e));
    assert.equal(e.nodeId, "1");
    assert.match(e.message, /failed with the loop still running/);
    return true;
  });
});

void test("workers exit when the process that runs the job is killed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-orphans-"));
  const parent = fork(PARENT, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, WEFT_TEST_ENTRY: `${JOB}#forever`, WEFT_TEST_PID_DIR: dir },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const parentExited = new Promise((r) => parent.once("exit", r));
  const pids: number[] = [];
  try {
    await until(() => readdirSync(dir).length === 2, 30_000, "the workers did not start");
    for (const f of readdirSync(dir)) pids.push(Number(readFileSync(join(dir, f), "utf8")));
    parent.kill("SIGKILL");
    await parentExited;
    await until(
      () => pids.every((pid) => !alive(pid)),
      10_000,
      `workers ${pids.join(", ")} outlived their runner`,
    );
  } finally {
    parent.kill("SIGKILL");
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Checks `ok` every 50 ms until it holds; rejects with `what` after `ms`. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(what);
    await delay(50);
  }
}

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms))),
  ]);
}
