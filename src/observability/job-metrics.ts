/**
 * Metrics of a whole job: the latest snapshot each process reported, summed into one Prometheus page,
 * plus the launcher's own per-component gauges.
 * @module
 */
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from "prom-client";

/**
 * A process's metrics as `registry.getMetricsAsJSON()` returns them.
 * @example
 * ```ts
 * const snapshot: MetricsSnapshot = await registry.getMetricsAsJSON();
 * jobMetrics.report("actor.0", snapshot);
 * ```
 */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Aggregates the metrics reported by the processes of a job.
 *
 * @example
 * ```ts
 * const job = new JobMetrics();
 * job.report("actor.0", await childRegistry.getMetricsAsJSON());
 * job.componentUp("actor.0", "actor", true);
 * const text = await job.metrics();
 * ```
 */
export class JobMetrics {
  private readonly snapshots = new Map<string, MetricsSnapshot>();
  private readonly own = new Registry();
  private readonly up: Gauge<"component" | "type">;
  private readonly restarts: Counter<"component" | "type">;
  /** Content type of {@link JobMetrics.metrics}. */
  readonly contentType = this.own.contentType;

  constructor() {
    this.up = new Gauge({
      name: "weft_component_up",
      help: "1 while the component's process runs, 0 otherwise.",
      labelNames: ["component", "type"],
      registers: [this.own],
    });
    this.restarts = new Counter({
      name: "weft_component_restarts_total",
      help: "Restarts of the component by the launcher.",
      labelNames: ["component", "type"],
      registers: [this.own],
    });
  }

  /** Stores the latest snapshot of `component` (replacing the previous one). */
  report(component: string, snapshot: MetricsSnapshot): void {
    this.snapshots.set(component, snapshot);
  }

  /** Records whether `component` runs. */
  componentUp(component: string, type: string, up: boolean): void {
    this.up.set({ component, type }, up ? 1 : 0);
  }

  /** Counts a restart of `component`. */
  componentRestarted(component: string, type: string): void {
    this.restarts.inc({ component, type });
  }

  /** The whole job's metrics in Prometheus text format. */
  async metrics(): Promise<string> {
    const aggregated = AggregatorRegistry.aggregate([...this.snapshots.values()]) as Registry;
    return Registry.merge([this.own, aggregated]).metrics();
  }
}
