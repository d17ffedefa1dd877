import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobPool } from "../../../src/pipeline/job-pool.ts";

/** A job that resolves when `release()` is called, recording when it started. */
function gate(started: number[], id: number): { job: () => Promise<number>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    job: async () => {
      started.push(id);
      await done;
      return id;
    },
    release,
  };
}

void describe("JobPool", () => {
  void it("runs at most `limit` jobs at once and starts the waiting ones first come, first served", async () => {
    const pool = new JobPool(2);
    const started: number[] = [];
    const gates = [0, 1, 2, 3].map((i) => gate(started, i));
    const results = gates.map((g) => pool.run(g.job, []));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1], "two run, two wait");
    gates[1]!.release();
    await results[1];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2], "the first waiting job takes the free place");
    gates[0]!.release();
    gates[2]!.release();
    gates[3]!.release();
    assert.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
    assert.deepEqual(started, [0, 1, 2, 3]);
  });

  void it("never runs a job synchronously; a throw becomes a rejection and frees the place", async () => {
    const pool = new JobPool(1);
    let ran = false;
    const failing = pool.run(() => {
      ran = true;
      throw new Error("boom");
    }, []);
    assert.equal(ran, false, "not run inside run()");
    const next = pool.run((x: number) => x + 1, [41]);
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 42);
  });
});
