/**
 * Per-node metrics of a tube runner: calls, errors and cancellations are always counted (an integer
 * increment per call); call durations go into a histogram only when the runner was created with
 * `metrics: true`, so an unused hook costs no clock reads.
 * @module
 */

/**
 * Upper bounds (ms) of the duration histogram's buckets; a last, unbounded bucket follows. Roughly
 * 1-2.5-5 per decade from 10 µs to 10 s.
 * @example
 * ```ts
 * const [m] = await runner.nodeMetrics(); // runner made with { metrics: true }
 * m!.durations!.counts.length === DURATION_BUCKETS_MS.length + 1; // true
 * ```
 */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
];

/**
 * Processing-time histogram of one node.
 * @example
 * ```ts
 * const h: DurationHistogram | undefined = (await runner.nodeMetrics())[0]?.durations;
 * if (h) console.log("max", h.maxMs, "ms, p50 ≤", durationQuantile(h, 0.5), "ms");
 * ```
 */
export interface DurationHistogram {
  /** Bucket upper bounds in ms ({@link DURATION_BUCKETS_MS}). */
  boundsMs: readonly number[];
  /** Calls per bucket: `counts[i]` took at most `boundsMs[i]` (and more than the bound before); the last is above every bound. */
  counts: number[];
  /** Sum of all durations, ms. */
  sumMs: number;
  /** Longest call, ms. */
  maxMs: number;
}

/**
 * Counters of one node since the runner started it.
 * @example
 * ```ts
 * for (const m of await runner.nodeMetrics()) {
 *   if (m.errors > 0 || m.cancelled > 0) console.warn(`${m.nodeId}: ${m.errors} errors, ${m.cancelled} skipped of ${m.calls}`);
 * }
 * ```
 */
export interface NodeMetrics {
  nodeId: string;
  /** Calls that returned (a value, NoEvent or exhaustion); one per (sub-)epoch the node ran. */
  calls: number;
  /** Calls that threw. */
  errors: number;
  /** (Sub-)epochs the node skipped: a required dependency had no event, or the node was disabled. */
  cancelled: number;
  /** Durations of the calls that returned or threw; absent unless the runner has `metrics: true`. */
  durations?: DurationHistogram;
}

/**
 * Collects one node's metrics.
 * @example
 * ```ts
 * const rec = new NodeMetricsRecorder("double", true);
 * const t0 = rec.start();
 * rec.done(t0, false);
 * rec.snapshot().calls; // 1
 * ```
 */
export class NodeMetricsRecorder {
  private calls = 0;
  private errors = 0;
  private cancelledCount = 0;
  private readonly counts: number[] | undefined;
  private sumMs = 0;
  private maxMs = 0;

  constructor(
    readonly nodeId: string,
    /** Whether call durations are measured. */
    readonly timed: boolean,
  ) {
    this.counts = timed ? new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0) : undefined;
  }

  /** Start time of a call (0 without timing, so no clock is read). */
  start(): number {
    return this.timed ? performance.now() : 0;
  }

  /** Records a finished call started at `t0` ({@link start}); `failed` when it threw. */
  done(t0: number, failed: boolean): void {
    if (failed) this.errors++;
    else this.calls++;
    const counts = this.counts;
    if (counts === undefined) return;
    const ms = performance.now() - t0;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    let i = 0;
    while (i < DURATION_BUCKETS_MS.length && ms > DURATION_BUCKETS_MS[i]!) i++;
    counts[i]!++;
  }

  /** Records a skipped (sub-)epoch. */
  cancelled(): void {
    this.cancelledCount++;
  }

  /** A copy of the counters. */
  snapshot(): NodeMetrics {
    const out: NodeMetrics = {
      nodeId: this.nodeId,
      calls: this.calls,
      errors: this.errors,
      cancelled: this.cancelledCount,
    };
    if (this.counts !== undefined) {
      out.durations = {
        boundsMs: DURATION_BUCKETS_MS,
        counts: [...this.counts],
        sumMs: this.sumMs,
        maxMs: this.maxMs,
      };
    }
    return out;
  }
}

/**
 * Upper bound (ms) of the bucket holding quantile `q` (0–1) of a histogram; `maxMs` for the unbounded
 * bucket, undefined when it is empty.
 * @example
 * ```ts
 * const [m] = await runner.nodeMetrics();
 * durationQuantile(m!.durations!, 0.99); // e.g. 0.25 (ms)
 * ```
 */
export function durationQuantile(h: DurationHistogram, q: number): number | undefined {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return i < h.boundsMs.length ? h.boundsMs[i] : h.maxMs;
  }
  return h.maxMs;
}
