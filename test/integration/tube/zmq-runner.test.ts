// ZMQRunner: one child process per node, lockstep epochs, errors and killed nodes reported as NodeError.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as zmq from "zeromq";
import { NodeError, TubeSpecError } from "../../../src/core/errors.ts";
import { pidAlive as alive } from "../../../src/discovery/local-registry.ts";
import { generateCurveKeyPair } from "../../../src/transport/curve.ts";
import { NodeProcessPool, Tube, ZMQRunner, type TubeEvent } from "../../../src/tube/index.ts";
import { FIXTURES } from "../../helpers/tube-runners.ts";

const N = "./nodes.ts#";

// Warm node processes shared by the cases that do not check the process table.
const pool = new NodeProcessPool();
pool.prewarm(4);
after(() => pool.close());

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`hung for ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) assert.fail(`processes still alive: ${pids.filter(alive).join(", ")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe("ZMQRunner", () => {
  void it("runs count → multiply, branch with NoEvent and process inputs across processes; callbacks see every event", async () => {
    const tube = await Tube.fromSpecification(
      {
        input: { k: { scope: "process", default: 0 } },
        nodes: {
          count: { type: `${N}count` },
          multiply: { type: `${N}multiply`, depends: "count.value" },
          sw: { type: `${N}Switch`, depends: "count.value" },
          even: { type: `${N}plusOne`, depends: "sw.even" },
          k: { type: `${N}add`, depends: ["count.value", "input.k"] },
          out: { type: "return", depends: { m: "multiply.value", even: "even.value", k: "k.value" } },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    const seen: TubeEvent[] = [];
    runner.addCallback((e) => seen.push(e));
    const pids: number[] = [];
    try {
      await within(30_000, runner.init());
      pids.push(...Object.values(runner.pids));
      assert.equal(pids.length, 5, "one process per node (the return node runs in the caller)");
      assert.deepEqual(await runner.process({ k: 10 }), { m: 0, even: 1, k: 10 });
      assert.deepEqual(await runner.process({ k: 10 }), { m: 2, k: 11 });
      assert.deepEqual(await runner.run(2), [
        { m: 4, even: 3, k: 2 },
        { m: 6, k: 3 },
      ]);
      const got: unknown[] = [];
      for await (const v of runner.iter(2)) got.push((v as { m: number }).m);
      assert.deepEqual(got, [8, 10]);
      assert.equal(seen.filter((e) => e.signal === "EpochEnded").length, 6);
      assert.deepEqual(
        seen.filter((e) => e.nodeId === "multiply").map((e) => e.value),
        [0, 2, 4, 6, 8, 10],
      );
    } finally {
      await runner.deinit();
    }
    // Healthy processes go back to the pool (alive, idle) instead of being killed.
    assert.deepEqual(
      pids.filter((p) => !pool.pids.includes(p)),
      [],
    );
    assert.ok(pids.every(alive));
  });

  void it("a node error is re-raised as NodeError with id, class and stack, without a hang", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          b: { type: `${N}boom`, depends: "count.value" },
          out: { type: "return", depends: "b.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    try {
      assert.deepEqual(await within(30_000, runner.run(2)), [0, 1]);
      await assert.rejects(within(10_000, runner.process()), (e: unknown) => {
        assert.ok(e instanceof NodeError);
        assert.equal(e.nodeId, "b");
        assert.equal(e.originalName, "TypeError");
        assert.match(e.message, /boom at 2/);
        assert.match(e.originalStack ?? "", /boom/);
        return true;
      });
      assert.equal(await within(10_000, runner.process()), 3, "a node error fails one epoch, not the runner");
    } finally {
      await runner.deinit();
    }
  });

  void it("200 consecutive error-injection runs: every failing run raises NodeError, none hangs", async () => {
    const tube = await Tube.fromSpecification(
      {
        input: { fail: { scope: "process", default: false } },
        nodes: {
          count: { type: `${N}count` },
          f: { type: `${N}maybeFail`, depends: { x: "count.value", fail: "input.fail" } },
          inc: { type: `${N}plusOne`, depends: "f.value" },
          out: { type: "return", depends: "inc.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    let failures = 0;
    try {
      await within(30_000, runner.init());
      for (let i = 0; i < 200; i++) {
        const fail = i % 3 === 0;
        const run = runner.process({ fail });
        if (fail) {
          await assert.rejects(
            within(5000, run),
            (e: unknown) => e instanceof NodeError && e.nodeId === "f" && e.originalName === "RangeError",
          );
          failures++;
        } else assert.equal(await within(5000, run), i + 1);
      }
    } finally {
      await runner.deinit();
    }
    assert.equal(failures, 67);
  });

  void it("free-run: many epochs in order, in-flight epochs bounded, stop/start without re-init", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          inc: { type: `${N}plusOne`, depends: "count.value" },
          slow: { type: `${N}slowDouble`, depends: "inc.value" },
          out: { type: "return", depends: "slow.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { maxInFlightEpochs: 8, pool });
    try {
      const got = (await within(30_000, runner.run(100))) as number[];
      assert.deepEqual(
        got,
        Array.from({ length: 100 }, (_, i) => (i + 1) * 2),
      );
      assert.ok(runner.maxObservedInFlight <= 8, `in flight ${runner.maxObservedInFlight}`);
      assert.ok(runner.maxObservedInFlight > 1, "epochs were pipelined");
      const more: unknown[] = [];
      for await (const v of runner.iter()) {
        more.push(v);
        if (more.length === 3) runner.stop();
      }
      assert.deepEqual(more.slice(0, 3), [202, 204, 206]);
      const next = (await runner.run(1)) as number[];
      assert.equal(next.length, 1);
      assert.ok(next[0]! > 206, "the same processes continue after stop");
    } finally {
      await runner.deinit();
    }
  });

  void it("subscription barrier: every subscriber is connected before the first process", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          a: { type: `${N}plusOne`, depends: "count.value" },
          b: { type: `${N}multiply`, depends: "count.value" },
          s: { type: `${N}add`, depends: ["a.value", "b.value"] },
          out: { type: "return", depends: "s.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    const seen: TubeEvent[] = [];
    runner.addCallback((e) => seen.push(e));
    try {
      await within(30_000, runner.init());
      const status = await runner.nodeStatus();
      // Each node's subscribers: its node dependents plus the command node, all connected before `init`
      // resolved, and no epoch has run yet.
      const expected: Record<string, number> = { count: 3, a: 2, b: 2, s: 1 };
      for (const st of status) {
        assert.equal(st.subscribers, expected[st.nodeId], `subscribers of ${st.nodeId}`);
        assert.equal(st.processed, 0);
      }
      // The very first epoch, published right after init, reaches every node and the caller.
      assert.equal(await within(10_000, runner.process()), 1);
      assert.deepEqual(
        seen
          .filter((e) => e.epoch.key === "0" && e.signal === "value")
          .map((e) => e.nodeId)
          .sort(),
        ["a", "b", "count", "s"],
      );
    } finally {
      await runner.deinit();
    }
  });

  void it("stateless nodes run ahead; stateful nodes still run epochs in order; stores are cleared per epoch", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          j: { type: `${N}jitter`, depends: "count.value" },
          acc: { type: `${N}Accumulate`, depends: "j.value" },
          out: { type: "return", depends: "acc.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    const jitterEpochs: number[] = [];
    runner.addCallback((e) => {
      if (e.nodeId === "j") jitterEpochs.push(Number(e.epoch.key));
    });
    try {
      const got = (await within(30_000, runner.run(24))) as number[];
      // Running sums in epoch order: the stateful node saw 0, 1, 2, … even though its input for a slow
      // epoch (every fourth) arrived after later ones.
      assert.deepEqual(
        got,
        Array.from({ length: 24 }, (_, i) => (i * (i + 1)) / 2),
      );
      const inOrder = [...jitterEpochs].sort((a, b) => a - b);
      assert.notDeepEqual(jitterEpochs, inOrder, "the stateless node finished later epochs first");
      assert.deepEqual(
        inOrder,
        Array.from({ length: 24 }, (_, i) => i),
      );
      const status = await runner.nodeStatus();
      const acc = status.find((s) => s.nodeId === "acc")!;
      assert.deepEqual(acc.order, inOrder, "the stateful node started epochs strictly in order");
      for (const st of status) {
        assert.equal(st.pending, 0, `${st.nodeId} store is empty once its epochs ended`);
        assert.equal(st.running, 0);
        assert.equal(st.processed, 24);
      }
      assert.equal(runner.pendingEpochs, 0, "the caller's store is empty between epochs");
    } finally {
      await runner.deinit();
    }
  });

  void it("free-run with a sink 10× slower than the source keeps in-flight epochs ≤ maxInFlightEpochs", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          sink: { type: `${N}SlowSink`, depends: "count.value" },
          out: { type: "return", depends: "sink.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const limit = 16;
    const runner = new ZMQRunner(tube, { pool, maxInFlightEpochs: limit });
    try {
      await within(30_000, runner.init());
      const started = Date.now();
      let epochs = 0;
      let samples = 0;
      let sampling: Promise<void> | undefined;
      const check = async (): Promise<void> => {
        const [src, sink] = await runner.nodeStatus();
        assert.ok(src && sink);
        const ahead = src.processed - sink.processed;
        assert.ok(ahead <= limit, `source ran ${ahead} epochs ahead of the sink (limit ${limit})`);
        assert.ok(sink.pending + sink.running <= limit, `sink holds ${sink.pending} epochs`);
        samples++;
      };
      for await (const v of runner.iter()) {
        assert.equal(v, epochs++);
        if (sampling === undefined && epochs % 10 === 0)
          sampling = check().finally(() => (sampling = undefined));
        if (Date.now() - started > 3000) runner.stop();
      }
      await sampling;
      assert.ok(samples >= 5, `sampled ${samples} times`);
      assert.ok(epochs >= 100, `only ${epochs} epochs in 3 s`);
      assert.ok(runner.maxObservedInFlight <= limit);
      assert.ok(runner.maxObservedInFlight > 1, "epochs were pipelined");
    } finally {
      await runner.deinit();
    }
  });

  void it('protocol "tcp" with CURVE: runs, and refuses clients without the key', async () => {
    const tube = await Tube.fromSpecification(`${FIXTURES}../../../examples/tube/linear4.yaml`);
    const runner = new ZMQRunner(tube, { pool, protocol: "tcp" });
    const plain = new zmq.Subscriber({ linger: 0 });
    const stranger = new zmq.Subscriber({ linger: 0 });
    try {
      await within(30_000, runner.init());
      const endpoints = Object.values(runner.eventEndpoints);
      assert.equal(endpoints.length, 4);
      for (const e of endpoints) assert.match(e, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      // A client without CURVE, and one with a key pair the runner did not make, get nothing.
      const other = generateCurveKeyPair();
      stranger.curvePublicKey = other.publicKey;
      stranger.curveSecretKey = other.secretKey;
      stranger.curveServerKey = other.publicKey;
      for (const s of [plain, stranger]) {
        s.receiveTimeout = 1000;
        s.connect(endpoints[0]!);
        s.subscribe();
      }
      const got = (await within(20_000, runner.run(50))) as number[];
      assert.deepEqual(
        got,
        Array.from({ length: 50 }, (_, i) => i + 3),
      );
      await Promise.all(
        [plain, stranger].map((s) =>
          assert.rejects(s.receive(), (e: unknown) => (e as { code?: string }).code === "EAGAIN"),
        ),
      );
    } finally {
      plain.close();
      stranger.close();
      await runner.deinit();
    }
  });

  void it("assets live in each using node's process: runner scope per process, process scope per epoch", async () => {
    const tube = await Tube.fromSpecification(
      {
        assets: {
          r: { type: `${N}pidAsset`, scope: "runner" },
          p: { type: `${N}pidAsset`, scope: "process" },
          n: { type: `${N}pidAsset`, scope: "node" },
        },
        nodes: {
          count: { type: `${N}count` },
          ra1: { type: `${N}assetId`, depends: ["assets.r", "count.value"] },
          ra2: { type: `${N}assetId`, depends: ["assets.r", "count.value"] },
          pa: { type: `${N}assetId`, depends: ["assets.p", "count.value"] },
          na: { type: `${N}assetId`, depends: ["assets.n", "count.value"] },
          out: {
            type: "return",
            depends: { r1: "ra1.value", r2: "ra2.value", p: "pa.value", n: "na.value" },
          },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    try {
      const [a, b] = (await within(30_000, runner.run(2))) as Record<string, string>[];
      assert.ok(a && b);
      const pid = (v: string | undefined): string => String(v).split(":")[0]!;
      assert.equal(pid(a.r1), String(runner.pids.ra1), "made in the using node's process");
      assert.equal(a.r1, b.r1, "runner asset kept across epochs");
      assert.notEqual(a.r1, a.r2, "divergence: one runner asset instance per node process");
      assert.notEqual(a.p, b.p, "process asset is new every epoch");
      assert.equal(a.n, b.n, "node asset kept across epochs");
    } finally {
      await runner.deinit();
    }
  });

  void it("rejects an asset fed by another node's output", async () => {
    const tube = await Tube.fromSpecification(
      {
        assets: { total: { type: `${N}initialTotal`, scope: "runner", depends: "count.value" } },
        nodes: {
          count: { type: `${N}count` },
          acc: { type: `${N}addTo`, depends: ["assets.total", "count.value"] },
          out: { type: "return", depends: "acc.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    assert.throws(
      () => new ZMQRunner(tube),
      (e: unknown) => e instanceof TubeSpecError && /asset "total".*only user/.test(e.message),
    );
  });

  void it("SIGKILL of a node process → NodeError naming it; no process left after deinit", async () => {
    const tube = await Tube.fromSpecification(`${FIXTURES}../../../examples/tube/linear4.yaml`);
    const runner = new ZMQRunner(tube, { quitTimeoutMs: 500, pool });
    const pids: number[] = [];
    try {
      await within(30_000, runner.init());
      assert.equal(await runner.process(), 3);
      pids.push(...Object.values(runner.pids));
      process.kill(runner.pids.b!, "SIGKILL");
      await assert.rejects(
        within(10_000, runner.process()),
        (e: unknown) => e instanceof NodeError && e.nodeId === "b" && /SIGKILL/.test(e.message),
      );
    } finally {
      await runner.deinit();
    }
    // A failed runner kills its processes instead of returning them to the pool.
    await waitGone(pids, 5000);
    assert.ok(pids.every((p) => !pool.pids.includes(p)));
  });

  void it("a callback added between epochs sees every event of the epochs after it, none of the earlier", async () => {
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          a: { type: `${N}plusOne`, depends: "count.value" },
          b: { type: `${N}plusOne`, depends: "a.value" },
          out: { type: "return", depends: "b.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    try {
      // Without callbacks the caller only gets the outputs it needs (here b's); the others stay between nodes.
      assert.deepEqual(await within(30_000, runner.run(3)), [2, 3, 4]);
      const seen: TubeEvent[] = [];
      runner.addCallback((e) => seen.push(e));
      assert.equal(await within(30_000, runner.process()), 5);
      assert.deepEqual(seen.map((e) => `${e.nodeId}.${e.signal}@${e.epoch.key}=${String(e.value)}`).sort(), [
        "a.value@3=4",
        "b.value@3=5",
        "count.value@3=3",
        "meta.EpochEnded@3=3",
      ]);
    } finally {
      await runner.deinit();
    }
  });

  void it("maps across processes: stateful nodes take sub-epochs in order, outputs overtake, stores clear", async () => {
    const tube = await Tube.fromSpecification(
      {
        input: { xs: { scope: "process" } },
        nodes: {
          m: { type: "map", depends: "input.xs" },
          j: { type: `${N}jitter`, depends: "m.value" },
          acc: { type: `${N}Accumulate`, depends: "j.value" },
          g: { type: "gather", depends: "acc.value" },
          out: { type: "return", depends: { sums: "g.value", n: "m.n" } },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    const seen: TubeEvent[] = [];
    runner.addCallback((e) => seen.push(e));
    try {
      // Items 4 and 8 are slow in the stateless node, so the items after them overtake them.
      assert.deepEqual(await within(30_000, runner.process({ xs: [1, 4, 2, 8, 3] })), {
        sums: [1, 5, 7, 15, 18],
        n: 5,
      });
      const keys = (id: string): string[] => seen.filter((e) => e.nodeId === id).map((e) => e.epoch.key);
      const items = ["0/m:0", "0/m:1", "0/m:2", "0/m:3", "0/m:4"];
      assert.deepEqual(keys("acc"), items, "the stateful node ran the sub-epochs in order");
      assert.notDeepEqual(keys("j"), items, "the stateless node finished later items first");
      assert.deepEqual([...keys("j")].sort(), items);
      assert.deepEqual(keys("m"), [...items, "0"], "one value event per item, then n in the parent");
      // Empty input: the map emits nothing, the gather is cancelled, and the epoch still ends.
      assert.deepEqual(await within(30_000, runner.run(3, { xs: [] })), [{}, {}, {}]);
      // Free-run: many root epochs with sub-epochs in flight; the stateful node keeps one running total.
      assert.deepEqual(await within(30_000, runner.run(4, { xs: [4, 1] })), [
        { sums: [22, 23], n: 2 },
        { sums: [27, 28], n: 2 },
        { sums: [32, 33], n: 2 },
        { sums: [37, 38], n: 2 },
      ]);
      assert.deepEqual(
        seen.filter((e) => e.signal === "EpochEnded").map((e) => e.epoch.key),
        ["0", "1", "2", "3", "4", "5", "6", "7"],
      );
      const status = await runner.nodeStatus();
      for (const st of status)
        assert.equal(st.pending, 0, `${st.nodeId} store is empty once its epochs ended`);
      assert.equal(status.find((s) => s.nodeId === "acc")!.processed, 13, "one call per item");
      assert.equal(runner.pendingEpochs, 0);
    } finally {
      await runner.deinit();
    }
  });

  void it("an error in one map item fails that epoch with the sub-epoch named, not the runner", async () => {
    const tube = await Tube.fromSpecification(
      {
        input: { xs: { scope: "process" } },
        nodes: {
          m: { type: "map", depends: "input.xs" },
          b: { type: `${N}boom`, depends: "m.value" },
          g: { type: "gather", depends: "b.value" },
          out: { type: "return", depends: "g.value" },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    try {
      await assert.rejects(within(30_000, runner.process({ xs: [1, 2, 3] })), (e: unknown) => {
        assert.ok(e instanceof NodeError);
        assert.equal(e.nodeId, "b");
        assert.match(e.message, /epoch 0\/m:1: TypeError: boom at 2/);
        return true;
      });
      assert.deepEqual(await within(30_000, runner.process({ xs: [5, 7] })), [5, 7]);
    } finally {
      await runner.deinit();
    }
  });

  void it("enableNode / disableNode reach a node fed only by upstream data before the next epoch's data, every time", async () => {
    // `inc` gets no epoch command (it depends on `count` only), so only the acknowledged toggle orders the
    // change before count's output of the next epoch.
    const tube = await Tube.fromSpecification(
      {
        nodes: {
          count: { type: `${N}count` },
          inc: { type: `${N}plusOne`, depends: "count.value" },
          out: { type: "return", depends: { inc: "inc.value", c: "count.value" } },
        },
      },
      { baseDir: FIXTURES },
    );
    const runner = new ZMQRunner(tube, { pool });
    try {
      await within(30_000, runner.init());
      for (let i = 0; i < 60; i++) {
        const on = i % 2 === 0;
        if (on) runner.enableNode("inc");
        else runner.disableNode("inc");
        const got = (await within(10_000, runner.process())) as { inc?: number; c: number };
        assert.equal(got.c, i);
        assert.deepEqual(
          got,
          on ? { inc: i + 1, c: i } : { c: i },
          `epoch ${i} with inc ${on ? "on" : "off"}`,
        );
      }
    } finally {
      await runner.deinit();
    }
  });
});
