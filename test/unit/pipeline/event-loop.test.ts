import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Context,
  EventLoop,
  OfflineRLContext,
  OnlineRLContext,
  globMatch,
} from "../../../src/pipeline/index.ts";

void test("on/off/once/emit", () => {
  const loop = new EventLoop();
  const got: unknown[] = [];
  const a = (x: unknown): void => void got.push(["a", x]);
  const b = (x: unknown): void => void got.push(["b", x]);
  loop.on("ev", a).on("ev", b);
  loop.emit("ev", 1);
  loop.off("ev", a);
  loop.emit("ev", 2);
  loop.once("one", (x: unknown) => got.push(["once", x]));
  loop.emit("one", 3);
  loop.emit("one", 4);
  loop.on("model.a", a).on("model.b", b);
  assert.deepEqual(loop.off("model.*").sort(), ["model.a", "model.b"]);
  assert.equal(loop.emit("model.a", 5), false);
  assert.deepEqual(got, [
    ["a", 1],
    ["b", 1],
    ["b", 2],
    ["once", 3],
  ]);
});

void test("once fires exactly once when re-emitted from inside its own dispatch", () => {
  const loop = new EventLoop();
  let n = 0;
  loop.on("x", () => loop.emit("x"));
  loop.once("x", () => n++);
  loop.on("x", () => undefined);
  // The first listener re-emits recursively; the guard keeps this finite.
  let depth = 0;
  loop.on("x", () => {
    if (++depth > 3) loop.off("x");
  });
  loop.emit("x");
  assert.equal(n, 1);
});

void test("listener errors are reported, not re-thrown into emit", async () => {
  const errors: unknown[] = [];
  const loop = new EventLoop({ onError: (e) => errors.push(e) });
  loop.on("x", () => {
    throw new Error("sync");
  });
  loop.on("x", async () => {
    throw new Error("async");
  });
  assert.equal(loop.emit("x"), true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ["sync", "async"],
  );
  const kept = new EventLoop();
  kept.on("y", () => {
    throw new Error("kept");
  });
  kept.emit("y");
  assert.equal((kept.takeError() as Error).message, "kept");
  assert.equal(kept.takeError(), undefined);
});

void test("context keep/renew: kept keys last until released", () => {
  const ctx = new Context<{ a: number; b: number }>();
  ctx.set("a", 1).set("b", 2).keep("a");
  const c1 = ctx.renew();
  assert.equal(c1.totalStep, 1);
  assert.equal(c1.get("a"), 1);
  assert.equal(c1.get("b"), undefined);
  const c2 = c1.renew();
  assert.equal(c2.get("a"), 1);
  c2.release("a");
  assert.equal(c2.renew().get("a"), undefined);
  assert.throws(() => ctx.set("renew" as "a", 1), { code: "WEFT_ERR_CONFIG" });
});

void test("OnlineRLContext and OfflineRLContext keep DI-engine's permanent keys", () => {
  const on = new OnlineRLContext();
  on.envStep = 10;
  on.trainIter = 3;
  on.trainData = [1];
  const next = on.renew();
  assert.ok(next instanceof OnlineRLContext);
  assert.equal(next.envStep, 10);
  assert.equal(next.trainIter, 3);
  assert.equal(next.trainData, undefined);
  assert.equal(next.lastEvalValue, -Infinity);
  const off = new OfflineRLContext();
  off.trainIter = 7;
  off.trainEpoch = 2;
  const n2 = off.renew();
  assert.equal(n2.trainIter, 7);
  assert.equal(n2.trainEpoch, 0);
});

void test("glob matching", () => {
  assert.ok(globMatch("node.*", "node.12"));
  assert.ok(globMatch("n?de", "node"));
  assert.ok(globMatch("[ab]x", "bx"));
  assert.ok(!globMatch("a.b", "axb"));
});
