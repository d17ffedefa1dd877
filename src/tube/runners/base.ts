/**
 * What every tube runner shares: lifecycle, process-scoped input handling, `process` / `iter` / `run`,
 * callbacks, enabling and disabling nodes.
 * @module
 */
import { ClosedError, InputMissingError } from "../../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../../core/logger.ts";
import { AssetManager } from "../assets.ts";
import type { TubeCallback, TubeEvent } from "../events.ts";
import { NodeMetricsRecorder, type NodeMetrics } from "../metrics.ts";
import type { NodeRuntime } from "../node.ts";
import { EpochExecutor } from "../scheduler.ts";
import type { Tube } from "../tube.ts";

/**
 * Options every runner accepts.
 * @example
 * ```ts
 * await using runner = new SynchronousRunner(tube, { metrics: true });
 * await runner.run(10);
 * ```
 */
export interface RunnerOptions {
  /** Logger for warnings (extra inputs). Default: `InternalLogger("tube")`. */
  logger?: LoggerLike;
  /**
   * Measure every node call's duration into a histogram (see {@link InProcessRunner.nodeMetrics}).
   * Calls, errors and cancellations are counted either way. Default false.
   */
  metrics?: boolean;
}

/**
 * Base of {@link SynchronousRunner} and {@link AsyncRunner}: node calls run in this process.
 * @example
 * ```ts
 * await using runner = new SynchronousRunner(tube);
 * for await (const value of runner.iter(5)) console.log(value);
 * ```
 */
export abstract class InProcessRunner implements AsyncDisposable {
  protected readonly logger: LoggerLike;
  private readonly callbacks: TubeCallback[] = [];
  private runtimes: Map<string, NodeRuntime> | undefined;
  private assets: AssetManager | undefined;
  private executor: EpochExecutor | undefined;
  private epoch = 0;
  private stopped = false;
  private exhausted = false;
  private readonly disabled = new Set<string>();
  private readonly enabled = new Set<string>();
  private readonly metrics = new Map<string, NodeMetricsRecorder>();

  constructor(
    /** The tube this runner runs. */
    readonly tube: Tube,
    options: RunnerOptions,
    private readonly concurrency: number,
  ) {
    this.logger = options.logger ?? new InternalLogger("tube");
    for (const n of Object.values(tube.spec.nodes)) {
      if (n.type !== "return")
        this.metrics.set(n.id, new NodeMetricsRecorder(n.id, options.metrics === true));
    }
  }

  /**
   * Per-node metrics since the runner was created (every node but the return node, in spec order): calls,
   * errors, cancelled (sub-)epochs and, with `metrics: true`, a histogram of call durations.
   * @example
   * ```ts
   * const runner = new SynchronousRunner(tube, { metrics: true });
   * await runner.run(100);
   * for (const m of await runner.nodeMetrics()) console.log(m.nodeId, m.calls, m.durations?.maxMs);
   * ```
   */
  async nodeMetrics(): Promise<NodeMetrics[]> {
    return [...this.metrics.values()].map((r) => r.snapshot());
  }

  /** True between `init()` and `deinit()`. */
  get running(): boolean {
    return this.executor !== undefined;
  }

  /** Creates assets and initialises every node. Called by `process` / `iter` / `run` when needed. */
  async init(): Promise<void> {
    if (this.executor !== undefined) return;
    const runtimes = this.tube.createRuntimes();
    const assets = new AssetManager(this.tube.spec.assets, this.tube.assetExports, this.tube.assetUsers());
    await assets.init();
    const started: NodeRuntime[] = [];
    try {
      for (const rt of runtimes.values()) {
        await rt.init();
        started.push(rt);
      }
    } catch (err) {
      for (const rt of started) await rt.deinit().catch(() => {});
      await assets.deinit();
      throw err;
    }
    this.runtimes = runtimes;
    this.assets = assets;
    this.executor = new EpochExecutor(this.tube, runtimes, assets, (e) => this.dispatch(e), {
      concurrency: this.concurrency,
      metrics: this.metrics,
    });
    for (const id of this.disabled) this.executor.disabled.add(id);
    for (const id of this.enabled) this.executor.disabled.delete(id);
    this.epoch = 0;
    this.exhausted = false;
  }

  /** Deinitialises every node and disposes every asset. */
  async deinit(): Promise<void> {
    const runtimes = this.runtimes;
    const assets = this.assets;
    this.runtimes = undefined;
    this.assets = undefined;
    this.executor = undefined;
    for (const rt of runtimes?.values() ?? []) await rt.deinit();
    await assets?.deinit();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.deinit();
  }

  /** Registers a function called with every event and every `EpochEnded` meta event. */
  addCallback(cb: TubeCallback): void {
    this.callbacks.push(cb);
  }

  /** Disables a node: it emits nothing; its required dependents are cancelled. */
  disableNode(id: string): void {
    this.checkNode(id);
    this.disabled.add(id);
    this.enabled.delete(id);
    this.executor?.disabled.add(id);
  }

  /** Re-enables a node (also one disabled in the spec). */
  enableNode(id: string): void {
    this.checkNode(id);
    this.disabled.delete(id);
    this.enabled.add(id);
    this.executor?.disabled.delete(id);
  }

  private checkNode(id: string): void {
    if (!(id in this.tube.spec.nodes)) throw new InputMissingError(`no node "${id}" in tube ${this.tube.id}`);
  }

  /** Asks `iter` / `run` to end after the epoch in flight. */
  stop(): void {
    this.stopped = true;
  }

  private dispatch(event: TubeEvent): void {
    for (const cb of this.callbacks) cb(event);
  }

  private inputsFor(given: Record<string, unknown>): Record<string, unknown> {
    const spec = this.tube.spec;
    const out: Record<string, unknown> = { ...this.tube.input };
    for (const inp of Object.values(spec.input)) {
      if (inp.scope !== "process") continue;
      if (inp.id in given) out[inp.id] = given[inp.id];
      else if (inp.hasDefault) out[inp.id] = inp.default;
      else if (inp.required) {
        throw new InputMissingError(
          `tube ${spec.id}: required process input "${inp.id}" is missing; pass it to process({ ${inp.id}: … })`,
        );
      }
    }
    for (const key of Object.keys(given)) {
      if (spec.input[key]?.scope !== "process")
        this.logger.warn(`tube ${spec.id}: ignoring extra input "${key}"`);
    }
    return out;
  }

  /** Runs one epoch and resolves to the return node's value (undefined without one). */
  async process(inputs: Record<string, unknown> = {}): Promise<unknown> {
    const r = await this.step(inputs);
    return r.value;
  }

  private async step(inputs: Record<string, unknown>): Promise<{ value: unknown; exhausted: boolean }> {
    await this.init();
    const executor = this.executor;
    if (executor === undefined) throw new ClosedError(`tube ${this.tube.id}: runner was deinitialised`);
    if (this.exhausted) return { value: undefined, exhausted: true };
    const values = this.inputsFor(inputs);
    const r = await executor.runEpoch(this.epoch++, values);
    if (r.exhausted) this.exhausted = true;
    return r;
  }

  /** Yields the return value of each epoch, `n` times (forever without `n`) or until `stop()` or a source ends. */
  async *iter(n?: number, inputs: Record<string, unknown> = {}): AsyncGenerator<unknown> {
    this.stopped = false;
    for (let i = 0; n === undefined || i < n; i++) {
      if (this.stopped) return;
      const r = await this.step(inputs);
      if (r.exhausted) return;
      yield r.value;
    }
  }

  /** Runs `n` epochs (until `stop()` or a source ends without `n`) and resolves to their return values. */
  async run(n?: number, inputs: Record<string, unknown> = {}): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const v of this.iter(n, inputs)) out.push(v);
    return out;
  }
}
