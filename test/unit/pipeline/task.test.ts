import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { TimeoutError } from "../../../src/core/errors.ts";
import { Context, Lock, Role, Task, type Middleware } from "../../../src/pipeline/index.ts";

void test("serial pipeline runs in order and renews the context", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  t.use((ctx: Context) => {
    seen.push(`a${ctx.totalStep}`);
    ctx.set("x", 1);
  });
  t.use((ctx: Context) => {
    seen.push(`b${ctx.totalStep}:${String(ctx.get("x"))}`);
  });
  await t.run({ maxStep: 2 });
  assert.deepEqual(seen, ["a0", "b0:1", "a1", "b1:1"]);
  assert.equal(t.ctx.totalStep, 1);
  assert.equal(t.finish, true);
});

void test("generator forward/backward: LIFO, no yield = not stacked, second yield never resumes", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  t.use(function* () {
    seen.push("f1");
    yield;
    seen.push("b1");
    yield;
    seen.push("never");
  });
  // eslint-disable-next-line require-yield
  t.use(function* () {
    seen.push("noyield");
  });
  t.use(function* () {
    seen.push("f2");
    yield;
    seen.push("b2");
  });
  await t.run({ maxStep: 1 });
  assert.deepEqual(seen, ["f1", "noyield", "f2", "b2", "b1"]);
});

void test("async forward and async generator", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  t.use(async () => {
    await delay(5);
    seen.push("async");
  });
  t.use(async function* () {
    await delay(1);
    seen.push("ag-f");
    yield;
    await delay(1);
    seen.push("ag-b");
  });
  t.use(() => {
    seen.push("sync");
  });
  await t.run({ maxStep: 1 });
  assert.deepEqual(seen, ["async", "ag-f", "sync", "ag-b"]);
});

const slowFast = (): { slow: Middleware; fast: Middleware } => ({
  slow: async (ctx: Context) => {
    await delay(30);
    ctx.setDefault("result", [] as string[]).push("slow");
  },
  fast: async (ctx: Context) => {
    ctx.setDefault("result", [] as string[]).push("fast");
  },
});

void test("parallel in sync mode records fast, slow", async () => {
  await using t = new Task().start();
  const { slow, fast } = slowFast();
  t.use(t.parallel(slow, fast));
  await t.run({ maxStep: 1 });
  assert.deepEqual(t.ctx.get("result"), ["fast", "slow"]);
});

void test("serial in async mode records slow, fast", async () => {
  await using t = new Task().start({ asyncMode: true });
  const { slow, fast } = slowFast();
  t.use(t.serial(slow, fast));
  await t.run({ maxStep: 1 });
  assert.deepEqual(t.ctx.get("result"), ["slow", "fast"]);
  assert.ok(t.labels.has("async"));
});

void test("async mode starts every middleware of a step concurrently", async () => {
  await using t = new Task().start({ asyncMode: true });
  const { slow, fast } = slowFast();
  t.use(slow);
  t.use(fast);
  await t.run({ maxStep: 1 });
  assert.deepEqual(t.ctx.get("result"), ["fast", "slow"]);
});

void test("nested wrap interleaves [0..5] over 2 steps", async () => {
  await using t = new Task().start();
  const child = function* (ctx: Context) {
    ctx.get("out").push(ctx.totalStep * 3 + 1);
    yield;
    ctx.get("out").push(ctx.totalStep * 3 + 2);
  };
  const wrapped = t.wrap(child);
  const all: number[] = [];
  t.use((ctx: Context) => {
    ctx.set("out", all);
    all.push(ctx.totalStep * 3);
    const back = wrapped(ctx) as () => void;
    back();
  });
  await t.run({ maxStep: 2 });
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5]);
});

void test("an unused wrap backward is run by the global backward", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  const wrapped = t.wrap(function* () {
    seen.push("f");
    yield;
    seen.push("b");
  });
  t.use((ctx: Context) => {
    void wrapped(ctx);
    seen.push("after");
  });
  await t.run({ maxStep: 1 });
  assert.deepEqual(seen, ["f", "after", "b"]);
});

void test("lock: true serializes middlewares; an own Lock is independent", async () => {
  const trace = async (lock: boolean | Lock | undefined): Promise<string[]> => {
    await using t = new Task().start({ asyncMode: true });
    const seen: string[] = [];
    for (const name of ["a", "b"]) {
      t.use(
        async () => {
          seen.push(`${name}+`);
          await delay(10);
          seen.push(`${name}-`);
        },
        lock === undefined ? {} : { lock },
      );
    }
    await t.run({ maxStep: 1 });
    return seen;
  };
  assert.deepEqual(await trace(true), ["a+", "a-", "b+", "b-"]);
  assert.deepEqual(await trace(undefined), ["a+", "b+", "a-", "b-"]);
  assert.deepEqual(await trace(new Lock()), ["a+", "a-", "b+", "b-"]);
});

void test("wrappers stack and see every middleware, before and after registration", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  const wrapper =
    (tag: string) =>
    (fn: Middleware): Middleware =>
    (ctx) => {
      seen.push(tag);
      return fn(ctx);
    };
  t.use(() => seen.push("m1"));
  t.useWrapper(wrapper("w1"));
  t.use(() => seen.push("m2"));
  t.useWrapper(wrapper("w2"));
  await t.run({ maxStep: 1 });
  assert.deepEqual(seen, ["w2", "w1", "m1", "w2", "w1", "m2"]);
});

void test("async mode with every kind of middleware: backward is LIFO by registration, jobs are awaited", async () => {
  await using t = new Task().start({ asyncMode: true });
  const log: string[] = [];
  t.use(function* () {
    log.push("gen-f");
    yield;
    log.push("gen-b");
  });
  t.use(async function* () {
    // Finishes its forward last: stacking still follows registration order.
    await delay(5);
    log.push("agen-f");
    yield;
    log.push("agen-b");
  });
  t.use(async () => {
    await delay(1);
    log.push("async");
  });
  t.use(() => {
    log.push("plain");
  });
  t.use(async (ctx: Context) => {
    // A job started after an await of the forward is still awaited before the backward.
    await delay(1);
    void t.asyncExecutor(async () => {
      await delay(5);
      log.push(`job-${ctx.totalStep}`);
    });
  });
  await t.run({ maxStep: 2 });
  const step = ["gen-f", "plain", "async", "agen-f", "job-STEP", "agen-b", "gen-b"];
  assert.deepEqual(log, [
    ...step.map((s) => s.replace("STEP", "0")),
    ...step.map((s) => s.replace("STEP", "1")),
  ]);
});

void test("a middleware that throws synchronously in async mode rejects run; its siblings' failures are handled", async () => {
  await using t = new Task().start({ asyncMode: true });
  let unhandled = 0;
  const onUnhandled = (): void => {
    unhandled++;
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    t.use(async () => {
      await delay(1);
      throw new Error("sibling");
    });
    t.use(() => {
      throw new Error("sync boom");
    });
    await assert.rejects(t.run({ maxStep: 1 }), /sync boom/);
    await delay(20);
    assert.equal(unhandled, 0);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

void test("an exception in one async-mode middleware escapes run", async () => {
  await using t = new Task().start({ asyncMode: true });
  t.use(async () => {
    await delay(1);
    throw new Error("boom");
  });
  t.use(async () => delay(5));
  await assert.rejects(t.run({ maxStep: 3 }), /boom/);
});

void test("sync() re-throws the first asyncExecutor failure", async () => {
  await using t = new Task().start({ nAsyncWorkers: 1 });
  const order: number[] = [];
  void t.asyncExecutor(async (n: number) => order.push(n), 1);
  void t.asyncExecutor(async () => {
    throw new Error("job failed");
  });
  await assert.rejects(t.sync(), /job failed/);
  assert.deepEqual(order, [1]);
});

void test("run stops when finish is set and still completes the step's backward", async () => {
  await using t = new Task().start();
  const seen: string[] = [];
  t.use(function* (ctx: Context) {
    yield;
    seen.push(`b${ctx.totalStep}`);
  });
  t.use((ctx: Context) => {
    if (ctx.totalStep === 2) t.finish = true;
  });
  await t.run({ maxStep: 100 });
  assert.deepEqual(seen, ["b0", "b1", "b2"]);
});

void test("labels, matchLabels, roles and void", async () => {
  await using t = new Task().start({ labels: ["learner-node"] });
  assert.deepEqual([...t.labels].sort(), ["learner-node", "standalone"]);
  assert.equal(t.matchLabels("learner*"), true);
  assert.equal(t.matchLabels(["node.*", "distributed"]), false);
  assert.equal(t.hasRole(Role.COLLECTOR), true);
  t.addRole(Role.LEARNER);
  assert.equal(t.hasRole(Role.COLLECTOR), false);
  assert.equal(t.hasRole(Role.LEARNER), true);
  const seen: string[] = [];
  t.use(t.hasRole(Role.COLLECTOR) ? () => seen.push("collect") : t.void());
  t.use(() => seen.push("train"));
  await t.run({ maxStep: 1 });
  assert.deepEqual(seen, ["train"]);
});

void test("waitFor returns the emitted args, times out when asked, ends when the task stops", async () => {
  const t = new Task().start();
  const p = t.waitFor("ready", { timeoutMs: 1000 });
  t.emit("ready", 1, "two");
  assert.deepEqual(await p, [1, "two"]);
  await assert.rejects(t.waitFor("never", { timeoutMs: 20 }), TimeoutError);
  assert.equal(await t.waitFor("never", { timeoutMs: 20, ignoreTimeoutException: true }), undefined);
  const pending = t.waitFor("never");
  await t.stop();
  await assert.rejects(pending, /stopped/);
});

void test("a listener error surfaces once in run, not on every later emit", async () => {
  await using t = new Task().start();
  let calls = 0;
  t.on("ev", () => {
    calls++;
    if (calls === 1) throw new Error("listener broke");
  });
  t.use(() => t.emit("ev"));
  await assert.rejects(t.run({ maxStep: 5 }), /listener broke/);
  t.emit("ev");
  assert.equal(calls, 2);
});

void test("run before start and a non-function middleware are typed errors", async () => {
  const t = new Task();
  await assert.rejects(t.run(), { code: "WEFT_ERR_CLOSED" });
  t.start();
  assert.throws(() => t.use(42 as unknown as Middleware), { code: "WEFT_ERR_CONFIG" });
  await t.stop();
});
