/**
 * Prometheus metrics of proxies, read from `proxy.getStats()` when collected: the send and receive paths
 * do no metrics work at all.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Counters a proxy keeps (the shape of `Proxy.getStats()`).
 * @example
 * ```ts
 * const stats: ProxyStatsLike = proxy.getStats();
 * console.log(stats.messagesSent, stats.dropped);
 * ```
 */
export interface ProxyStatsLike {
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Received frames that could not be decoded. */
  decodeErrors: number;
  /** Messages dropped: rejoin cache overflow or forgotten peers. */
  dropped: number;
  /** Messages cached for failed peers right now. */
  cached: number;
}

/**
 * What {@link ProxyMetrics} reads from a proxy.
 * @example
 * ```ts
 * const measured: MeasuredProxy = await Proxy.create(options); // any Proxy is one
 * new ProxyMetrics().track(measured);
 * ```
 */
export interface MeasuredProxy {
  readonly name: string;
  readonly componentType: string;
  readonly peersName: Record<string, string[]>;
  getStats(): ProxyStatsLike;
  /** Registers a listener of reply waits (seconds each); returns a function that removes it. */
  onReplyWait(listener: (seconds: number) => void): () => void;
}

/**
 * Options of {@link ProxyMetrics}.
 * @example
 * ```ts
 * const metrics = new ProxyMetrics({ registry: new Registry(), latencyBuckets: [0.001, 0.01, 0.1, 1] });
 * ```
 */
export interface ProxyMetricsOptions {
  /** Registry the metrics are created in. Default a new `Registry`. */
  registry?: Registry;
  /** Buckets of the reply latency histogram, in seconds. Default 0.0005 s … 10 s. */
  latencyBuckets?: number[];
}

const COUNTERS = [
  ["messagesSent", "weft_messages_sent_total", "Messages sent (unicast and broadcast)."],
  ["messagesReceived", "weft_messages_received_total", "Messages received and decoded."],
  ["bytesSent", "weft_bytes_sent_total", "Bytes sent, all frames included."],
  ["bytesReceived", "weft_bytes_received_total", "Bytes received, all frames included."],
  ["dropped", "weft_messages_dropped_total", "Messages dropped (rejoin cache overflow, forgotten peers)."],
  ["decodeErrors", "weft_decode_errors_total", "Received messages that could not be decoded."],
] as const;

type CounterKey = (typeof COUNTERS)[number][0];

interface Tracked {
  proxy: MeasuredProxy;
  last: Record<CounterKey, number>;
  labels: { component: string; type: string };
  restore: () => void;
}

/**
 * Counters and histograms of one or more proxies, labelled by component name and type:
 * `weft_messages_sent_total`, `weft_messages_received_total`, `weft_bytes_sent_total`,
 * `weft_bytes_received_total`, `weft_messages_dropped_total`, `weft_decode_errors_total`,
 * `weft_messages_cached`, `weft_peers_alive{peer_type}` and `weft_reply_latency_seconds` (time a
 * `send`/`scatter`/`broadcast`/`receiveById` call waits for its replies).
 *
 * Counters are brought up to date by {@link ProxyMetrics.collect}, which the registry also runs before
 * every scrape; only reply waits are timed as they happen (one `performance.now()` pair per waiting call,
 * through `proxy.onReplyWait`).
 *
 * @example
 * ```ts
 * const metrics = new ProxyMetrics();
 * metrics.track(proxy);
 * console.log(await metrics.registry.metrics());
 * ```
 */
export class ProxyMetrics {
  readonly registry: Registry;
  private readonly counters: Record<CounterKey, Counter<"component" | "type">>;
  private readonly cached: Gauge<"component" | "type">;
  private readonly peersAlive: Gauge<"component" | "type" | "peer_type">;
  private readonly latency: Histogram<"component" | "type">;
  private readonly tracked = new Map<MeasuredProxy, Tracked>();

  constructor(options: ProxyMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const counters = {} as Record<CounterKey, Counter<"component" | "type">>;
    for (const [key, name, help] of COUNTERS) {
      counters[key] = new Counter({ name, help, labelNames: ["component", "type"], registers });
    }
    this.counters = counters;
    // Collected before every scrape, so a scrape always sees current numbers.
    const collectAll = (): void => this.collect();
    this.cached = new Gauge({
      name: "weft_messages_cached",
      help: "Messages cached for failed peers, waiting for them to rejoin.",
      labelNames: ["component", "type"],
      registers,
      collect: collectAll,
    });
    this.peersAlive = new Gauge({
      name: "weft_peers_alive",
      help: "Live peers of each type, as seen by the component.",
      labelNames: ["component", "type", "peer_type"],
      registers,
    });
    this.latency = new Histogram({
      name: "weft_reply_latency_seconds",
      help: "Time a call waited for its replies (send, scatter, broadcast, receiveById).",
      labelNames: ["component", "type"],
      buckets: options.latencyBuckets ?? [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
      ],
      registers,
    });
  }

  /**
   * Starts measuring `proxy`. Returns a function that stops (the counters keep their values).
   * Reply waits are timed through the proxy's `onReplyWait`, which sees every waiting call.
   */
  track(proxy: MeasuredProxy): () => void {
    const existing = this.tracked.get(proxy);
    if (existing) return () => this.untrack(proxy);
    const labels = { component: proxy.name, type: proxy.componentType };
    const latency = this.latency;
    const stopTiming = proxy.onReplyWait((seconds) => latency.observe(labels, seconds));
    const last = Object.fromEntries(COUNTERS.map(([k]) => [k, 0])) as Record<CounterKey, number>;
    for (const [key] of COUNTERS) this.counters[key].inc(labels, 0);
    this.tracked.set(proxy, { proxy, last, labels, restore: stopTiming });
    return () => this.untrack(proxy);
  }

  private untrack(proxy: MeasuredProxy): void {
    const t = this.tracked.get(proxy);
    if (!t) return;
    this.collectOne(t);
    t.restore();
    this.tracked.delete(proxy);
  }

  /** Brings every metric up to date with the tracked proxies' counters. */
  collect(): void {
    for (const t of this.tracked.values()) this.collectOne(t);
  }

  private collectOne(t: Tracked): void {
    let stats: ProxyStatsLike;
    try {
      stats = t.proxy.getStats();
    } catch {
      return;
    }
    for (const [key] of COUNTERS) {
      const delta = stats[key] - t.last[key];
      // A counter never goes down; a smaller value means the source was reset: count from there.
      if (delta > 0) this.counters[key].inc(t.labels, delta);
      t.last[key] = stats[key];
    }
    this.cached.set(t.labels, stats.cached);
    let peers: Record<string, string[]>;
    try {
      peers = t.proxy.peersName;
    } catch {
      return;
    }
    for (const [peerType, names] of Object.entries(peers)) {
      this.peersAlive.set({ ...t.labels, peer_type: peerType }, names.length);
    }
  }
}
