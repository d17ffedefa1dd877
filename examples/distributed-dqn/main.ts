/**
 * Distributed DQN, the shape of DI-engine's parallel DQN: a learner (node 0), an evaluator (node 1) and
 * collectors (nodes 2…) in a mesh. Each step a collector sends a 2 KiB batch of transitions; the learner
 * trains on one batch of every collector and sends its 136 KiB model to every other node; the evaluator
 * scores each model and sets `finish` after `WEFT_DQN_ITERATIONS` versions, which ends the whole job.
 * Compute is stubbed (`stubs.ts`). Collectors may run one model version ahead, as DI-engine's do.
 *
 * Run it: `weft pipeline --main examples/distributed-dqn/main.ts#main --parallel-workers 4`.
 * Environment: `WEFT_DQN_ITERATIONS` (default 50), `WEFT_DQN_ZERO_COMPUTE=1` (no-op stubs, for the
 * benchmark), `WEFT_DQN_REPORT` (a directory: each node writes `node-<id>.json` with what it received).
 *
 * After the run every node checks that it received everything that was sent to it: the learner and the
 * collectors exchange summaries (the last model version, the last batch step), and because each sender's
 * events arrive in order, a summary arriving means everything its sender sent before it has arrived.
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OnlineRLContext, Role, getActiveRouter, task } from "../../src/pipeline/index.ts";
import { MODEL_FLOATS, checksum, collect, evaluate, isBatchOf, train } from "./stubs.ts";

const WAIT_MS = 30_000;

interface Model {
  version: number;
  sum: number;
  weights: Float32Array;
}

interface Batch {
  collector: number;
  step: number;
  transitions: Float32Array;
}

/** Resolves when `ready()` holds, re-checked on every event of the node; ends early on `finish`. */
class Waiter {
  #wake: (() => void) | undefined;

  notify(): void {
    this.#wake?.();
  }

  /** Resolves true once `ready()` holds; false when the task finishes first (unless `afterRun`). */
  async until(ready: () => boolean, what: string, afterRun = false): Promise<boolean> {
    const deadline = Date.now() + WAIT_MS;
    while (!ready()) {
      if (task.finish && !afterRun) return false;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return true;
  }
}

/** Entry of every node; its role comes from its node id. */
export async function main(): Promise<void> {
  const iterations = Number(process.env.WEFT_DQN_ITERATIONS ?? "50");
  const zero = process.env.WEFT_DQN_ZERO_COMPUTE === "1";
  const nodeId = getActiveRouter()?.nodeId;
  if (nodeId === undefined) throw new Error("run this example with weft pipeline --parallel-workers 4");
  const role = nodeId === 0 ? Role.LEARNER : nodeId === 1 ? Role.EVALUATOR : Role.COLLECTOR;
  task.start({ ctx: new OnlineRLContext(), labels: [role] });
  task.addRole(role);
  // The learner is linked to the evaluator and every collector.
  const nCollectors = Math.max(1, (task.router?.getAttachToLen() ?? 3) - 1);
  const waiter = new Waiter();
  task.on("finish", () => waiter.notify());
  let report: Record<string, unknown>;
  if (task.hasRole(Role.LEARNER)) report = await learner(waiter, nCollectors, zero);
  else if (task.hasRole(Role.EVALUATOR)) report = await evaluator(waiter, iterations);
  else report = await collector(waiter, nodeId, zero);
  await task.stop();
  const dir = process.env.WEFT_DQN_REPORT;
  if (dir !== undefined) writeFileSync(join(dir, `node-${nodeId}.json`), JSON.stringify({ role, ...report }));
}

async function learner(waiter: Waiter, nCollectors: number, zero: boolean): Promise<Record<string, unknown>> {
  const received = new Map<number, number[]>(); // collector → steps, in arrival order
  const pending = new Map<number, Batch[]>(); // step → batches
  let badBatches = 0;
  task.on("data", (b: Batch) => {
    if (!isBatchOf(b.transitions, b.collector, b.step, zero)) badBatches++;
    const steps = received.get(b.collector) ?? [];
    steps.push(b.step);
    received.set(b.collector, steps);
    const list = pending.get(b.step) ?? [];
    list.push(b);
    pending.set(b.step, list);
    waiter.notify();
  });
  const summaries = new Map<number, number>();
  task.on("summary.collector", (s: { collector: number; lastStep: number }) => {
    summaries.set(s.collector, s.lastStep);
    waiter.notify();
  });
  const weights = new Float32Array(MODEL_FLOATS);
  let version = 0;
  let t0 = 0;
  let t1 = 0;
  let tLast = 0;
  // Middlewares as DI-engine's learner: fetch data, train, broadcast the model.
  let batches: Batch[] = [];
  task.use(async () => {
    const step = version;
    if (
      !(await waiter.until(() => (pending.get(step)?.length ?? 0) >= nCollectors, `batches of step ${step}`))
    )
      return;
    batches = pending.get(step) ?? [];
    pending.delete(step);
  });
  task.use(() => {
    if (batches.length === 0) return;
    version++;
    tLast = performance.now();
    if (version === 1) t0 = tLast;
    train(
      weights,
      batches.map((b) => b.transitions),
      version,
      zero,
    );
    batches = [];
  });
  task.use(() => {
    if (t0 === 0 || weights[0] !== version || t1 === version) return;
    t1 = version;
    // A copy: payloads travel without copying, and the learner keeps changing its weights.
    const model: Model = { version, sum: checksum(weights), weights: weights.slice() };
    task.emit("model", model);
  });
  await task.run();
  const elapsedMs = tLast - t0;
  task.emit("summary.learner", { lastVersion: version });
  await waiter.until(() => summaries.size >= nCollectors, "the collectors' summaries", true);
  const complete =
    summaries.size === nCollectors &&
    [...summaries].every(([c, last]) => isRange(received.get(c) ?? [], 0, last));
  return {
    iterations: version,
    elapsedMs,
    iterationsPerSecond: version > 1 && elapsedMs > 0 ? ((version - 1) * 1000) / elapsedMs : 0,
    batches: Object.fromEntries([...received].map(([c, s]) => [c, s.length])),
    collectorLastSteps: Object.fromEntries(summaries),
    allBatchesArrived: complete,
    badBatches,
  };
}

async function collector(waiter: Waiter, id: number, zero: boolean): Promise<Record<string, unknown>> {
  const versions: number[] = [];
  let badModels = 0;
  let latest = 0;
  task.on("model", (m: Model) => {
    if (m.weights.length !== MODEL_FLOATS || checksum(m.weights) !== m.sum || m.weights[0] !== m.version)
      badModels++;
    versions.push(m.version);
    latest = m.version;
    waiter.notify();
  });
  let lastVersion: number | undefined;
  task.on("summary.learner", (s: { lastVersion: number }) => {
    lastVersion = s.lastVersion;
    waiter.notify();
  });
  let step = -1;
  task.use(async () => {
    // One version of staleness: step s may use model s - 1 (the learner trains version s on step s - 1).
    const next = step + 1;
    if (!(await waiter.until(() => latest >= next - 1, `model ${next - 1}`))) return;
    step = next;
    const batch: Batch = { collector: id, step, transitions: collect(id, step, zero) };
    task.emit("data", batch);
  });
  await task.run();
  task.emit("summary.collector", { collector: id, lastStep: step });
  await waiter.until(() => lastVersion !== undefined, "the learner's summary", true);
  return {
    steps: step + 1,
    versions: versions.length,
    lastVersion,
    allModelsArrived: isRange(versions, 1, lastVersion ?? -1),
    badModels,
  };
}

async function evaluator(waiter: Waiter, iterations: number): Promise<Record<string, unknown>> {
  const versions: number[] = [];
  const queue: Model[] = [];
  let badModels = 0;
  task.on("model", (m: Model) => {
    if (m.weights.length !== MODEL_FLOATS || checksum(m.weights) !== m.sum) badModels++;
    versions.push(m.version);
    queue.push(m);
    waiter.notify();
  });
  let lastVersion: number | undefined;
  task.on("summary.learner", (s: { lastVersion: number }) => {
    lastVersion = s.lastVersion;
    waiter.notify();
  });
  let evaluated = 0;
  let score = 0;
  task.use(async () => {
    if (!(await waiter.until(() => queue.length > 0, "a model"))) return;
    const m = queue.shift() as Model;
    score = evaluate(m.weights);
    evaluated = m.version;
    if (m.version >= iterations) task.finish = true;
  });
  await task.run();
  await waiter.until(() => lastVersion !== undefined, "the learner's summary", true);
  return {
    evaluated,
    score,
    lastVersion,
    allModelsArrived: isRange(versions, 1, lastVersion ?? -1),
    badModels,
  };
}

/** True when `list` is exactly `from, from + 1, …, to`. */
function isRange(list: number[], from: number, to: number): boolean {
  if (list.length !== to - from + 1) return false;
  return list.every((v, i) => v === from + i);
}
