/**
 * ZMQRunner: every node in its own child process; events flow node to node over ZeroMQ.
 * @module
 */
import { ClosedError, InputMissingError, NodeError, TimeoutError, TubeSpecError } from "../../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../../core/logger.ts";
import type { TubeCallback } from "../events.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { Tube } from "../tube.ts";
import { emitEpochEnded, emitOutputEvents, ReturnValue } from "./caller-outputs.ts";
import { CommandChannel } from "./command-channel.ts";
import { StatusRequests, ToggleAcks } from "./command-requests.ts";
import { EpochTracker, type EpochOutcome } from "./epoch-tracker.ts";
import { NodeProcesses } from "./node-processes.ts";
import type { NodeProcessPool } from "./pool.ts";
import {
  CONTROL_TOPIC,
  PROCESS_TOPIC,
  encodeCommand,
  type ControlMessage,
  type NodeOutput,
  type NodeRunnerConfig,
  type NodeStatus,
} from "./protocol.ts";
import { SubEpochModel } from "./sub-epochs.ts";

/**
 * Options of {@link ZMQRunner}.
 * @example
 * ```ts
 * const options: ZMQRunnerOptions = { protocol: "tcp", maxInFlightEpochs: 16, metrics: true };
 * await using runner = new ZMQRunner(tube, options);
 * await runner.run(100);
 * ```
 */
export interface ZMQRunnerOptions {
  /** Deadline for every node process to start and connect, ms. Default 20 000. */
  startTimeoutMs?: number;
  /** Time node processes get to exit after `quit` before SIGKILL, ms. Default 2000. */
  quitTimeoutMs?: number;
  /**
   * Free-run (`run` / `iter`) keeps at most this many epochs in flight: sources never run further ahead
   * of the slowest node, so memory stays bounded. Default 64.
   */
  maxInFlightEpochs?: number;
  /**
   * Transport between the processes: `"ipc"` (Unix sockets, default) or `"tcp"` (loopback, ephemeral
   * ports). TCP connections are CURVE-encrypted and authenticated with a key pair made for this runner
   * (every process checks peers with its own ZAP handler) unless `curve` is false.
   */
  protocol?: "ipc" | "tcp";
  /** CURVE on TCP. Default true (ignored for ipc). */
  curve?: boolean;
  /** Host to bind TCP sockets on. Default `"127.0.0.1"`. */
  host?: string;
  /** Stateless nodes run at most this many epochs at once, so they may run ahead. Default 16. */
  statelessConcurrency?: number;
  /** Take node processes from (and give them back to) this pool instead of starting new ones. */
  pool?: NodeProcessPool;
  /**
   * Measure every node call's duration into a histogram, in each node process (see
   * {@link ZMQRunner.nodeMetrics}). Calls, errors and cancellations are counted either way. Default false.
   */
  metrics?: boolean;
  /** Logger. Default `InternalLogger("tube.zmq")`. */
  logger?: LoggerLike;
}

/**
 * Runs each node of a tube in its own child process (`node --import tsx`), over ipc or tcp (+CURVE):
 * lockstep with `process()`, pipelined with `run()` / `iter()`. Supports every node kind: function,
 * generator, class and `Node` nodes, `map` (sub-epochs carried on the wire as item paths), every `gather`
 * mode, nested maps, nested `tube` nodes (the inner tube runs inside the tube node's process), `return`,
 * inputs and assets (instantiated in each using node's process). Rejected with TubeSpecError: an asset fed
 * by a node other than its only user. See docs/tube.md for the divergences from the in-process runners.
 * @example
 * ```ts
 * await using runner = new ZMQRunner(await Tube.fromSpecification("./linear4.yaml"));
 * await runner.run(10);
 * ```
 */
export class ZMQRunner implements AsyncDisposable {
  private readonly logger: LoggerLike;
  private readonly callbacks: TubeCallback[] = [];
  private readonly statuses: StatusRequests;
  /** enableNode / disableNode commands not yet acknowledged (see {@link ToggleAcks}). */
  private readonly toggles = new ToggleAcks();
  private nodeEndpoints: Record<string, string> = {};
  private readonly enabledOverride = new Map<string, boolean>();
  private readonly returnValue: ReturnValue;
  private channel: CommandChannel | undefined;
  private processes: NodeProcesses | undefined;
  private readonly nodeIds: string[];
  private readonly epochs: EpochTracker;
  private readonly model: SubEpochModel;
  /** Most epochs seen in flight at once (for monitoring backpressure). */
  maxObservedInFlight = 0;
  private failure: NodeError | undefined;
  private epoch = 0;
  private stopped = false;
  private exhausted = false;
  private starting: Promise<void> | undefined;
  private closing = false;

  constructor(
    /** The tube to run. */
    readonly tube: Tube,
    private readonly options: ZMQRunnerOptions = {},
  ) {
    this.logger = options.logger ?? new InternalLogger("tube.zmq");
    const spec = tube.spec;
    const users = tube.assetUsers();
    for (const a of Object.values(spec.assets)) {
      const u = users.get(a.id) ?? [];
      // An asset lives in each using node's process; one fed by another node's output would need that
      // node's events forwarded across processes, which this runner does not do.
      if (a.depends !== undefined && u.some((id) => id !== a.depends?.id)) {
        throw new TubeSpecError(
          `${spec.source}: asset "${a.id}": ZMQRunner supports an asset with depends only when the node it depends on ("${a.depends.id}") is its only user; use SynchronousRunner or AsyncRunner`,
        );
      }
    }
    this.nodeIds = Object.values(spec.nodes)
      .filter((n) => n.type !== "return")
      .map((n) => n.id);
    this.model = new SubEpochModel(tube);
    this.epochs = new EpochTracker(tube, this.model, this.nodeIds);
    this.statuses = new StatusRequests(this.nodeIds);
    this.returnValue = new ReturnValue(tube, this.model);
  }

  /** Endpoint each node process publishes its events on (`ipc://…` or `tcp://host:port`). */
  get eventEndpoints(): Record<string, string> {
    return { ...this.nodeEndpoints };
  }

  /** Process id of each node process (for monitoring). */
  get pids(): Record<string, number> {
    return this.processes?.pids ?? {};
  }

  /** Registers a function called with every node event and one `EpochEnded` per epoch. */
  addCallback(cb: TubeCallback): void {
    this.callbacks.push(cb);
  }

  /**
   * Stops running node `id` (it emits nothing, so its required dependents are cancelled), from the next
   * epoch the node has not started yet. Unknown ids raise `InputMissingError`.
   */
  disableNode(id: string): void {
    this.setEnabled(id, false);
  }

  /** Runs node `id` again (also one disabled in the spec), from the next epoch it has not started. */
  enableNode(id: string): void {
    this.setEnabled(id, true);
  }

  private setEnabled(id: string, enabled: boolean): void {
    if (!this.nodeIds.includes(id)) throw new InputMissingError(`no node "${id}" in tube ${this.tube.id}`);
    this.enabledOverride.set(id, enabled);
    // Before init the override goes out with the node's configuration.
    if (this.starting === undefined) return;
    const request = this.toggles.open();
    // Once every node is subscribed to the command socket (a command sent before would be lost).
    this.starting
      .then(() => {
        if (this.channel === undefined) throw new ClosedError("runner deinitialised");
        return this.channel.send([
          encodeCommand(CONTROL_TOPIC, { kind: "enable", nodeId: id, enabled, request }),
        ]);
      })
      .catch(() => this.toggles.settle(request));
  }

  /** Starts one process per node and waits until all are connected and subscribed. */
  async init(): Promise<void> {
    this.starting ??= this.start().catch(async (err: unknown) => {
      await this.deinit();
      throw err;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    const spec = this.tube.spec;
    this.closing = false;
    this.failure = undefined;
    this.exhausted = false;
    this.epoch = 0;
    this.epochs.reset();
    const channel = (this.channel = new CommandChannel(this.options));
    const { command, control } = await channel.open();
    const processes = (this.processes = new NodeProcesses(this.nodeIds));
    channel.listen(
      (m) => this.onControl(m, processes),
      (out) => this.onOutput(out),
    );
    for (const id of this.nodeIds) {
      // Every node that watches this one (a dependent, or a node inside one of its maps) plus the caller.
      const subscribers = this.nodeIds.filter((y) => this.model.watched(y).includes(id)).length + 1;
      const config: NodeRunnerConfig = {
        spec: spec.source === "<inline>" ? (this.tube.rawSpec ?? {}) : spec.source,
        baseDir: spec.baseDir,
        input: this.tube.input,
        nodeId: id,
        bind: channel.bindFor(`tube-${id}`),
        command,
        control,
        subscribers,
        concurrency: Math.max(1, this.options.statelessConcurrency ?? 16),
        pooled: this.options.pool !== undefined,
        enabled: this.enabledOverride.get(id) ?? spec.nodes[id]!.enabled,
        toCaller: this.epochs.toCaller.has(id),
        metrics: this.options.metrics === true,
        ...(channel.curve ? { curve: channel.curve } : {}),
      };
      processes.start(id, config, this.options.pool, (err) => {
        if (this.closing) return;
        processes.abort(err);
        this.fail(err);
      });
    }
    const timeout = processes.deadline(this.options.startTimeoutMs ?? 20_000, spec.id);
    try {
      await Promise.race([processes.allBound, processes.allReady, timeout]);
      channel.connectEvents(processes.bound.values());
      const endpoints = Object.fromEntries(processes.bound);
      this.nodeEndpoints = endpoints;
      processes.send({ kind: "peers", endpoints });
      await Promise.race([processes.allReady, timeout]);
      // Subscription barrier on the command socket: every node subscribed before the first command.
      await channel.awaitSubscribers(this.nodeIds.length, timeout);
    } finally {
      processes.clearDeadline();
    }
  }

  private onControl(m: ControlMessage, processes: NodeProcesses): void {
    if (m.kind === "ready") processes.markReady(m.nodeId);
    else if (m.kind === "status") this.statuses.answer(m);
    else if (m.kind === "enabled") this.toggles.settle(m.request);
    else
      this.fail(
        new NodeError(`node "${m.nodeId}" failed in epoch ${m.epoch}: ${m.name}: ${m.message}`, {
          nodeId: m.nodeId,
          originalName: m.name,
          originalStack: m.stack,
        }),
      );
  }

  /**
   * Asks every node process for its counters (epochs processed, held in its store, running; connected
   * subscribers; the order epochs started in). For monitoring and tests.
   */
  async nodeStatus(timeoutMs = 5000): Promise<NodeStatus[]> {
    await this.init();
    const channel = this.channel;
    if (channel === undefined) throw new ClosedError(`tube ${this.tube.id}: runner was deinitialised`);
    return this.statuses.ask(
      (request) => channel.send([encodeCommand(CONTROL_TOPIC, { kind: "status", request })]),
      timeoutMs,
      () => new TimeoutError(`tube ${this.tube.id}: node status not answered within ${timeoutMs} ms`),
    );
  }

  /**
   * Per-node metrics, asked from every node process (every node but the return node, in spec order):
   * calls, errors, cancelled (sub-)epochs and, with `metrics: true`, a histogram of call durations.
   * @example
   * ```ts
   * const runner = new ZMQRunner(tube, { metrics: true });
   * await runner.run(100);
   * for (const m of await runner.nodeMetrics()) console.log(m.nodeId, m.calls, m.durations?.maxMs);
   * ```
   */
  async nodeMetrics(timeoutMs = 5000): Promise<NodeMetrics[]> {
    return (await this.nodeStatus(timeoutMs)).map((s) => s.metrics);
  }

  /** Epochs the caller holds partial outputs of (its store; empty between epochs). */
  get pendingEpochs(): number {
    return this.epochs.pending;
  }

  private fail(err: NodeError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.toggles.settleAll();
    this.epochs.rejectAll(() => err);
  }

  private onOutput(out: NodeOutput): void {
    const st = this.epochs.receive(out);
    // Events are only built for epochs submitted while someone listened (only those bring every output).
    if (st.report) emitOutputEvents(this.model, out, this.callbacks);
    if (!this.epochs.arrived(st, out)) return;
    const value = this.returnValue.of(st.outs);
    if (st.report) emitEpochEnded(out.epoch, this.callbacks);
    this.epochs.settle(out.epoch, st, value);
  }

  /** Runs one epoch across the node processes and resolves to the return value. */
  async process(inputs: Record<string, unknown> = {}): Promise<unknown> {
    return (await this.step(inputs)).value;
  }

  private async step(inputs: Record<string, unknown>): Promise<{ value: unknown; exhausted: boolean }> {
    const r = await (await this.submit(inputs)).done;
    if (r.exhausted) this.exhausted = true;
    return r;
  }

  /** Sends one epoch's command; resolves (once sent) to a promise of that epoch's result. */
  private async submit(inputs: Record<string, unknown>): Promise<{ done: Promise<EpochOutcome> }> {
    await this.init();
    // Pending toggles settle on acknowledgement, failure or deinit, so the checks below see the outcome.
    if (this.toggles.size > 0) await this.toggles.allAcked();
    if (this.failure !== undefined) throw this.failure;
    if (this.channel === undefined) throw new ClosedError(`tube ${this.tube.id}: runner was deinitialised`);
    if (this.exhausted) return { done: Promise.resolve({ value: undefined, exhausted: true }) };
    const spec = this.tube.spec;
    const values: Record<string, unknown> = {};
    for (const inp of Object.values(spec.input)) {
      if (inp.scope !== "process") continue;
      if (inp.id in inputs) values[inp.id] = inputs[inp.id];
      else if (inp.hasDefault) values[inp.id] = inp.default;
      else if (inp.required)
        throw new InputMissingError(
          `tube ${spec.id}: required process input "${inp.id}" is missing; pass it to process({ ${inp.id}: … })`,
        );
    }
    const epoch = this.epoch++;
    const report = this.callbacks.length > 0;
    const done = this.epochs.expect(epoch, report);
    this.maxObservedInFlight = Math.max(this.maxObservedInFlight, this.epochs.inFlight);
    await this.channel.send([
      encodeCommand(PROCESS_TOPIC, {
        kind: "process",
        epoch,
        inputs: { ...this.tube.input, ...values },
        ...(report ? { report } : {}),
      }),
    ]);
    return { done };
  }

  /**
   * Free-run: keeps up to `maxInFlightEpochs` epochs in flight and yields their return values in epoch
   * order, `n` times or until `stop()` / a source ends.
   */
  async *iter(n?: number, inputs: Record<string, unknown> = {}): AsyncGenerator<unknown> {
    this.stopped = false;
    const limit = Math.max(1, this.options.maxInFlightEpochs ?? 64);
    const queue: Promise<EpochOutcome>[] = [];
    let sent = 0;
    while (true) {
      while (!this.stopped && !this.exhausted && queue.length < limit && (n === undefined || sent < n)) {
        queue.push((await this.submit(inputs)).done);
        sent++;
      }
      const head = queue.shift();
      if (head === undefined) return;
      const r = await head;
      if (r.exhausted) {
        this.exhausted = true;
        // Later epochs in flight belong to an exhausted source: wait them out, yield nothing more.
        await Promise.allSettled(queue);
        return;
      }
      yield r.value;
    }
  }

  /** Runs `n` epochs and resolves to their return values. */
  async run(n?: number, inputs: Record<string, unknown> = {}): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const v of this.iter(n, inputs)) out.push(v);
    return out;
  }

  /** Asks `iter` / `run` to end after the epoch in flight. */
  stop(): void {
    this.stopped = true;
  }

  /** Stops every node process (quit, then SIGKILL after `quitTimeoutMs`) and closes the sockets. */
  async deinit(): Promise<void> {
    this.closing = true;
    if (this.channel !== undefined) {
      await Promise.race([
        this.channel.send([encodeCommand(CONTROL_TOPIC, { kind: "quit" })]).catch(() => {}),
        new Promise((r) => setTimeout(r, 100)),
      ]);
    }
    const quitMs = this.options.quitTimeoutMs ?? 2000;
    const pool = this.failure === undefined ? this.options.pool : undefined;
    await this.processes?.reap(quitMs, pool);
    this.statuses.cancelAll();
    this.toggles.settleAll();
    this.channel?.close();
    this.channel = undefined;
    this.epochs.rejectAll(() => new ClosedError(`tube ${this.tube.id}: runner deinitialised`));
    this.starting = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.deinit();
  }
}
