// Per-node metrics recorder: counters, duration buckets, quantiles, and no clock reads when timing is off.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DURATION_BUCKETS_MS, NodeMetricsRecorder, durationQuantile } from "../../../src/tube/index.ts";

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

void describe("tube node metrics", () => {
  void it("counts calls, errors and cancellations without reading the clock when timing is off", () => {
    const original = performance.now.bind(performance);
    let reads = 0;
    performance.now = () => {
      reads++;
      return original();
    };
    try {
      const rec = new NodeMetricsRecorder("n", false);
      for (let i = 0; i < 5; i++) rec.done(rec.start(), i === 3);
      rec.cancelled();
      const m = rec.snapshot();
      assert.deepEqual(m, { nodeId: "n", calls: 4, errors: 1, cancelled: 1 });
      assert.equal(reads, 0, "an unused histogram costs no clock read");
    } finally {
      performance.now = original;
    }
  });

  void it("puts durations in the right buckets and reads quantiles back", async () => {
    const rec = new NodeMetricsRecorder("n", true);
    for (let i = 0; i < 3; i++) rec.done(rec.start(), false);
    const t0 = rec.start();
    await sleep(30);
    rec.done(t0, true);
    const h = rec.snapshot().durations!;
    assert.equal(h.boundsMs, DURATION_BUCKETS_MS);
    assert.equal(h.counts.length, DURATION_BUCKETS_MS.length + 1);
    assert.equal(
      h.counts.reduce((a, b) => a + b, 0),
      4,
    );
    assert.ok(h.maxMs >= 29 && h.sumMs >= h.maxMs, `slow call measured (max ${h.maxMs} ms)`);
    const slowBucket = DURATION_BUCKETS_MS.findIndex((b) => h.maxMs <= b);
    assert.equal(h.counts[slowBucket], 1, "the 30 ms call sits in the bucket bounding its duration");
    assert.ok((durationQuantile(h, 0.5) ?? Infinity) <= 1, "three fast calls make the median fast");
    assert.equal(durationQuantile(h, 1), DURATION_BUCKETS_MS[slowBucket]);
    assert.equal(durationQuantile({ ...h, counts: h.counts.map(() => 0) }, 0.5), undefined);
  });

  void it("a call longer than every bound lands in the last bucket, whose quantile is the maximum", () => {
    const rec = new NodeMetricsRecorder("n", true);
    rec.done(performance.now() - 20_000, false);
    const h = rec.snapshot().durations!;
    assert.equal(h.counts.at(-1), 1);
    assert.equal(durationQuantile(h, 0.99), h.maxMs);
    assert.ok(h.maxMs >= 20_000);
  });
});
