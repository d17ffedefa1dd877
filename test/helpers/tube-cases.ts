// noob's runner behaviours as one table, run against every runner kind.
import assert from "node:assert/strict";
import { InputMissingError, NodeError } from "../../src/core/errors.ts";
import { durationQuantile, Tube, type TubeEvent } from "../../src/tube/index.ts";
import { disposed } from "../fixtures/tube/nodes.ts";
import { FIXTURES, type AnyRunner, type RunnerKind } from "./tube-runners.ts";

const N = "./nodes.ts#";

export interface Case {
  name: string;
  spec: Record<string, unknown>;
  input?: Record<string, unknown>;
  /** False for cases whose result differs on the process-per-node runner (see docs/tube.md, divergences). */
  remote?: boolean;
  /** Runner options (the same on every runner kind). */
  options?: { metrics?: boolean };
  check(runner: AnyRunner): Promise<void>;
}

const linear = {
  nodes: {
    count: { type: `${N}count` },
    multiply: { type: `${N}multiply`, depends: "count.value" },
    out: { type: "return", depends: "multiply.value" },
  },
};

export const CASES: Case[] = [
  {
    name: "count → multiply → return over 5 process calls",
    spec: linear,
    async check(r) {
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await r.process());
      assert.deepEqual(got, [0, 2, 4, 6, 8]);
    },
  },
  { name: "run(5)", spec: linear, check: async (r) => assert.deepEqual(await r.run(5), [0, 2, 4, 6, 8]) },
  {
    name: "iter(5)",
    spec: linear,
    async check(r) {
      const got = [];
      for await (const v of r.iter(5)) got.push(v);
      assert.deepEqual(got, [0, 2, 4, 6, 8]);
    },
  },
  {
    name: "branch: one output to two nodes, dict return",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        inc: { type: `${N}plusOne`, depends: "count.value" },
        dbl: { type: `${N}multiply`, depends: "count.value" },
        out: { type: "return", depends: [{ inc: "inc.value" }, { dbl: "dbl.value" }] },
      },
    },
    check: async (r) =>
      assert.deepEqual(await r.run(3), [
        { inc: 1, dbl: 0 },
        { inc: 2, dbl: 2 },
        { inc: 3, dbl: 4 },
      ]),
  },
  {
    name: "branch switching with NoEvent (multi-signal node)",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        sw: { type: `${N}Switch`, depends: "count.value" },
        even: { type: `${N}multiply`, depends: "sw.even" },
        odd: { type: `${N}plusOne`, depends: "sw.odd" },
        out: { type: "return", depends: { even: "even.value", odd: "odd.value" } },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(4), [{ even: 0 }, { odd: 2 }, { even: 4 }, { odd: 4 }]),
  },
  {
    name: "merge of two sources",
    spec: {
      nodes: {
        a: { type: `${N}count` },
        b: { type: `${N}count`, params: { start: 10 } },
        sum: { type: `${N}add`, depends: ["a.value", "b.value"] },
        out: { type: "return", depends: "sum.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(3), [10, 12, 14]),
  },
  {
    name: "gather by n",
    spec: {
      nodes: {
        letter: { type: `${N}letters` },
        five: { type: "gather", params: { n: 5 }, depends: "letter.value" },
        word: { type: `${N}join`, depends: "five.value" },
        out: { type: "return", depends: "word.value" },
      },
    },
    async check(r) {
      const got = await r.run(10);
      assert.deepEqual(
        got.filter((x) => x !== undefined),
        ["abcde", "fghij"],
      );
      assert.equal(got[4], "abcde");
      assert.equal(got[9], "fghij");
    },
  },
  {
    name: "gather by trigger",
    spec: {
      nodes: {
        letter: { type: `${N}letters` },
        count: { type: `${N}count` },
        evens: { type: `${N}evensOnly`, depends: "count.value" },
        g: { type: "gather", depends: { value: "letter.value", trigger: "evens.value" } },
        word: { type: `${N}join`, depends: "g.value" },
        out: { type: "return", depends: "word.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(5), ["a", undefined, "bc", undefined, "de"]),
  },
  {
    name: "tube-scoped input as params and as depends",
    spec: {
      input: { factor: { type: "number", scope: "tube" } },
      nodes: {
        count: { type: `${N}count` },
        m: { type: `${N}multiply`, depends: "count.value", params: { factor: "input.factor" } },
        s: { type: `${N}add`, depends: ["m.value", "input.factor"] },
        out: { type: "return", depends: "s.value" },
      },
    },
    input: { factor: 3 },
    check: async (r) => assert.deepEqual(await r.run(3), [3, 6, 9]),
  },
  {
    name: "process-scoped input as depends; missing input raises",
    spec: {
      input: { x: { type: "number", scope: "process" } },
      nodes: {
        inc: { type: `${N}plusOne`, depends: "input.x" },
        out: { type: "return", depends: "inc.value" },
      },
    },
    async check(r) {
      assert.equal(await r.process({ x: 4 }), 5);
      assert.equal(await r.process({ x: 9 }), 10);
      await assert.rejects(
        r.process({}),
        (e: unknown) => e instanceof InputMissingError && /"x" is missing/.test(e.message),
      );
    },
  },
  {
    name: "async nodes",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        d: { type: `${N}slowDouble`, depends: "count.value" },
        e: { type: `${N}slowDouble`, depends: "count.value" },
        s: { type: `${N}add`, depends: ["d.value", "e.value"] },
        out: { type: "return", depends: "s.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(3), [0, 4, 8]),
  },
  {
    name: "node error raised from process without hanging",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        b: { type: `${N}boom`, depends: "count.value" },
        out: { type: "return", depends: "b.value" },
      },
    },
    async check(r) {
      assert.equal(await r.process(), 0);
      assert.equal(await r.process(), 1);
      await assert.rejects(r.process(), (e: unknown) => {
        assert.ok(e instanceof NodeError);
        assert.equal(e.nodeId, "b");
        assert.equal(e.originalName, "TypeError");
        assert.match(e.message, /boom at 2/);
        assert.match(e.originalStack ?? "", /boom/);
        return true;
      });
      assert.equal(await r.process(), 3, "a node error fails one epoch, not the runner");
    },
  },
  {
    name: "runner / process / node asset scopes",
    remote: false,
    spec: {
      assets: {
        r: { type: `${N}counterAsset`, scope: "runner" },
        p: { type: `${N}counterAsset`, scope: "process" },
        n: { type: `${N}counterAsset`, scope: "node" },
      },
      nodes: {
        count: { type: `${N}count` },
        ra: { type: `${N}assetId`, depends: ["assets.r", "count.value"] },
        pa: { type: `${N}assetId`, depends: ["assets.p", "count.value"] },
        na1: { type: `${N}assetId`, depends: ["assets.n", "count.value"] },
        na2: { type: `${N}assetId`, depends: ["assets.n", "count.value"] },
        out: { type: "return", depends: { r: "ra.value", p: "pa.value", n1: "na1.value", n2: "na2.value" } },
      },
    },
    async check(r) {
      const [a, b] = (await r.run(2)) as Record<string, number>[];
      assert.ok(a && b);
      assert.equal(a.r, b.r, "runner asset is shared across epochs");
      assert.notEqual(a.p, b.p, "process asset is new every epoch");
      assert.ok(disposed.includes(`asset${a.p}`), "process asset disposed at epoch end");
      assert.notEqual(a.n1, a.n2, "node asset is per node");
      assert.equal(a.n1, b.n1);
      await r.deinit();
      assert.ok(disposed.includes(`asset${a.r}`), "runner asset disposed on deinit");
    },
  },
  {
    name: "asset with depends persists across epochs",
    spec: {
      assets: { total: { type: `${N}initialTotal`, scope: "runner", depends: "acc.value" } },
      nodes: {
        count: { type: `${N}count` },
        acc: { type: `${N}addTo`, depends: ["assets.total", "count.value"] },
        out: { type: "return", depends: "acc.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(5), [0, 1, 3, 6, 10]),
  },
  {
    name: "map of a word to letters",
    spec: {
      input: { word: { scope: "process" } },
      nodes: {
        m: { type: "map", depends: "input.word" },
        up: { type: `${N}upper`, depends: "m.value" },
        out: { type: "return", depends: "up.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.process({ word: "abc" }), ["A", "B", "C"]),
  },
  {
    name: "map + un-mapped dependency",
    spec: {
      input: { word: { scope: "process" }, sfx: { scope: "process" } },
      nodes: {
        suffix: { type: `${N}identity`, depends: "input.sfx" },
        m: { type: "map", depends: "input.word" },
        cat: { type: `${N}add`, depends: ["m.value", "suffix.value"] },
        out: { type: "return", depends: "cat.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.process({ word: "ab", sfx: "!" }), ["a!", "b!"]),
  },
  {
    name: "map + gather collapsing",
    spec: {
      input: { word: { scope: "process" } },
      nodes: {
        m: { type: "map", depends: "input.word" },
        up: { type: `${N}upper`, depends: "m.value" },
        g: { type: "gather", depends: "up.value" },
        w: { type: `${N}join`, depends: "g.value" },
        out: { type: "return", depends: "w.value" },
      },
    },
    async check(r) {
      assert.equal(await r.process({ word: "word" }), "WORD");
      assert.equal(await r.process({ word: "" }), undefined, "empty map input emits nothing");
    },
  },
  {
    name: "nested maps",
    spec: {
      input: { text: { scope: "process" } },
      nodes: {
        words: { type: `${N}split`, depends: "input.text" },
        mw: { type: "map", depends: "words.value" },
        ml: { type: "map", depends: "mw.value" },
        up: { type: `${N}upper`, depends: "ml.value" },
        gl: { type: "gather", depends: "up.value" },
        w: { type: `${N}join`, depends: "gl.value" },
        gw: { type: "gather", depends: "w.value" },
        out: { type: "return", depends: "gw.value" },
      },
    },
    check: async (r) => assert.deepEqual(await r.process({ text: "ab cde f" }), ["AB", "CDE", "F"]),
  },
  {
    name: "nested tube with NoEvent propagating",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        inner: { type: "tube", params: { tube: "./inner.yaml" }, depends: { x: "count.value" } },
        after: { type: `${N}plusOne`, depends: "inner.doubled" },
        out: { type: "return", depends: { after: "after.value" } },
      },
    },
    check: async (r) => assert.deepEqual(await r.run(4), [{ after: 1 }, {}, { after: 3 }, {}]),
  },
  {
    name: "disabled node (spec and enableNode/disableNode)",
    spec: {
      nodes: {
        count: { type: `${N}count` },
        inc: { type: `${N}plusOne`, depends: "count.value", enabled: false },
        dbl: { type: `${N}multiply`, depends: "count.value" },
        out: { type: "return", depends: { inc: "inc.value", dbl: "dbl.value" } },
      },
    },
    async check(r) {
      assert.deepEqual(await r.process(), { dbl: 0 });
      r.enableNode!("inc");
      assert.deepEqual(await r.process(), { inc: 2, dbl: 2 });
      r.disableNode!("dbl");
      assert.deepEqual(await r.process(), { inc: 3 });
    },
  },
  {
    name: "callbacks see every event and one EpochEnded per epoch",
    spec: linear,
    async check(r) {
      const seen: TubeEvent[] = [];
      r.addCallback((e) => seen.push(e));
      await r.run(3);
      const ended = seen.filter((e) => e.signal === "EpochEnded");
      assert.deepEqual(
        ended.map((e) => e.epoch.key),
        ["0", "1", "2"],
      );
      assert.deepEqual(
        seen.filter((e) => e.nodeId === "multiply").map((e) => e.value),
        [0, 2, 4],
      );
      assert.equal(seen.filter((e) => e.nodeId === "count").length, 3);
    },
  },
  {
    name: "class node keeps state; stop() ends iter",
    remote: false,
    spec: {
      nodes: {
        count: { type: `${N}count` },
        acc: { type: `${N}Accumulate`, depends: "count.value", params: { step: 2 } },
        out: { type: "return", depends: "acc.value" },
      },
    },
    async check(r) {
      const got: unknown[] = [];
      for await (const v of r.iter()) {
        got.push(v);
        if (got.length === 4) r.stop();
      }
      assert.deepEqual(got, [0, 2, 6, 12]);
    },
  },
  {
    name: "per-node metrics: calls, errors, cancelled epochs and call durations",
    options: { metrics: true },
    spec: {
      nodes: {
        count: { type: `${N}count` },
        d: { type: `${N}slowDouble`, depends: "count.value" },
        e: { type: `${N}evensOnly`, depends: "count.value" },
        f: { type: `${N}plusOne`, depends: "e.value" },
        b: { type: `${N}boom`, depends: "count.value" },
        inc: { type: `${N}plusOne`, depends: "b.value" },
        out: { type: "return", depends: { d: "d.value", inc: "inc.value" } },
      },
    },
    async check(r) {
      for (let i = 0; i < 4; i++) {
        if (i === 2) await assert.rejects(r.process(), NodeError);
        else await r.process();
      }
      const m = Object.fromEntries((await r.nodeMetrics()).map((x) => [x.nodeId, x]));
      assert.deepEqual(Object.keys(m), ["count", "d", "e", "f", "b", "inc"], "every node but the return");
      assert.equal(m.count!.calls, 4);
      assert.equal(m.d!.calls, 4);
      assert.deepEqual([m.b!.calls, m.b!.errors], [3, 1], "boom threw at 2");
      assert.deepEqual([m.f!.calls, m.f!.cancelled], [2, 2], "e had no event in epochs 1 and 3");
      assert.equal(m.inc!.calls, 3);
      const h = m.d!.durations!;
      assert.equal(
        h.counts.reduce((a, b) => a + b, 0),
        4,
      );
      assert.ok(h.maxMs >= 4 && h.sumMs >= 16, `slowDouble waits 5 ms per call (max ${h.maxMs} ms)`);
      assert.ok((durationQuantile(h, 0.5) ?? 0) >= 4, "the median bucket is at least 5 ms");
    },
  },
  {
    name: "exhausted source ends run",
    spec: {
      nodes: { c: { type: `${N}count`, params: { limit: 3 } }, out: { type: "return", depends: "c.value" } },
    },
    check: async (r) => assert.deepEqual(await r.run(), [0, 1, 2]),
  },
];

/** Registers every case that applies to `kind` as a node:test test. */
export function runTable(
  kind: RunnerKind,
  describe: (name: string, fn: () => void) => unknown,
  it: (name: string, fn: () => Promise<void>) => unknown,
): void {
  void describe(`tube behaviours: ${kind.name} runner`, () => {
    for (const c of CASES.filter((x) => !kind.remote || x.remote !== false)) {
      void it(c.name, async () => {
        const tube = await Tube.fromSpecification(c.spec, {
          baseDir: FIXTURES,
          ...(c.input ? { input: c.input } : {}),
        });
        const runner = kind.make(tube, c.options);
        try {
          await c.check(runner);
        } finally {
          await runner.deinit();
        }
      });
    }
  });
}
