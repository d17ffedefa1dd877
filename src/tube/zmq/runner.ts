/**
 * ZMQRunner: every node in its own child process; events flow node to node over ZeroMQ.
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as zmq from "zeromq";
import { ClosedError, InputMissingError, NodeError, TimeoutError, TubeSpecError } from "../../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../../core/logger.ts";
import { bindEndpoint, newIpcEndpoint, removeIpcFile } from "../../transport/addresses.ts";
import {
  applyCurveClient,
  applyCurveServer,
  generateCurveKeyPair,
  registerZapDomain,
} from "../../transport/curve.ts";
import { readLoop } from "../../transport/socket-reader.ts";
import { SocketWriter } from "../../transport/socket-writer.ts";
import { returnNode } from "../builtins.ts";
import { Epoch } from "../epoch.ts";
import { makeEvent, META_NODE_ID, MetaSignal, NoEvent, type TubeCallback } from "../events.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { Tube } from "../tube.ts";
import {
  CALLER_TOPIC,
  CONTROL_TOPIC,
  PROCESS_TOPIC,
  decodeOutput,
  encodeCommand,
  unpackSmall,
  type ControlMessage,
  type NodeOutput,
  type NodeRunnerConfig,
  type NodeStatus,
  type SetupMessage,
  type SetupReply,
} from "./protocol.ts";
import { spawnNodeProcess, type NodeProcessPool } from "./pool.ts";
import { NOT_READY, RootOutputs, SubEpochModel, pathKey } from "./sub-epochs.ts";

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

const ROOT_EPOCH = new Epoch(0);

interface EpochOutcome {
  value: unknown;
  exhausted: boolean;
}

/**
 * The outputs of one root epoch in flight. `outstanding` counts the outputs still to come among the
 * sub-epochs known so far: an output inside a map is only counted once the map's own output (with its
 * item count) has been counted, so outputs that overtake their map's output across processes are parked
 * until it arrives, and `outstanding` reaches 0 only when the whole epoch is in.
 */
interface PendingRoot {
  /** True when the epoch's events go to callbacks. */
  report: boolean;
  outs: RootOutputs;
  outstanding: number;
  /** `map@path` of every map output counted so far. */
  counted: Set<string>;
  parked: Map<string, NodeOutput[]>;
  failed: NodeOutput | undefined;
}

interface Waiter {
  epoch: number;
  resolve: (v: EpochOutcome) => void;
  reject: (e: unknown) => void;
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
  private readonly children = new Map<string, ChildProcess>();
  private readonly detach = new Map<ChildProcess, () => void>();
  private statusWaiters = new Map<
    number,
    { want: number; got: NodeStatus[]; resolve: (s: NodeStatus[]) => void }
  >();
  private statusRequest = 0;
  /**
   * enableNode / disableNode commands not yet acknowledged by their node. A node that only waits for its
   * upstream outputs gets no epoch command, so nothing orders the toggle before the epoch's data on the
   * way to it: the next epoch is sent only once every toggle is acknowledged.
   */
  private readonly toggles = new Map<number, { acked: Promise<void>; resolve: () => void }>();
  private toggleRequest = 0;
  private releaseZap: (() => void) | undefined;
  private nodeEndpoints: Record<string, string> = {};
  private readonly enabledOverride = new Map<string, boolean>();
  private returnRuntime: ReturnType<typeof returnNode> | undefined;
  private cmd: zmq.XPublisher | undefined;
  private cmdWriter: SocketWriter | undefined;
  private control: zmq.Pull | undefined;
  private events: zmq.Subscriber | undefined;
  private endpoints: string[] = [];
  private readonly nodeIds: string[];
  private outputs = new Map<number, PendingRoot>();
  private readonly model: SubEpochModel;
  /** Nodes that run once per root epoch (outside every map). */
  private readonly rootNodes: number;
  /** Nodes whose outputs the caller gets in every epoch (the others only in reported epochs). */
  private readonly toCaller: Set<string>;
  /** Per epoch submitted: whether its events go to callbacks, and root outputs the caller waits for. */
  private readonly submitted = new Map<number, { report: boolean; expect: number }>();
  private readonly waiters = new Map<number, Waiter>();
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
    this.rootNodes = this.nodeIds.filter((id) => this.model.scope[id]!.length === 0).length;
    // Outputs the caller needs in every epoch: those the return node reads and those of the nodes nothing
    // else consumes. Each node sends its output only after every output it consumed arrived, and passes
    // errors and exhaustion on, so those outputs tell the caller that the whole epoch is done. With maps
    // the caller needs every output (the maps' item counts tell it how many sub-epochs to wait for).
    const ret = this.tube.returnNodeId;
    const readByReturn = new Set(
      ret === undefined ? [] : this.model.watched(ret).filter((id) => this.nodeIds.includes(id)),
    );
    this.toCaller = new Set(
      this.model.mapped
        ? this.nodeIds
        : this.nodeIds.filter(
            (id) =>
              readByReturn.has(id) ||
              spec.graph.dependents[id]!.every((d) => spec.nodes[d]!.type === "return"),
          ),
    );
  }

  /** Endpoint each node process publishes its events on (`ipc://…` or `tcp://host:port`). */
  get eventEndpoints(): Record<string, string> {
    return { ...this.nodeEndpoints };
  }

  /** Process id of each node process (for monitoring). */
  get pids(): Record<string, number> {
    return Object.fromEntries([...this.children].map(([id, c]) => [id, c.pid ?? -1]));
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
    const request = ++this.toggleRequest;
    let resolve!: () => void;
    const acked = new Promise<void>((r) => (resolve = r));
    this.toggles.set(request, { acked, resolve });
    // Once every node is subscribed to the command socket (a command sent before would be lost).
    this.starting
      .then(() => {
        if (this.cmdWriter === undefined) throw new ClosedError("runner deinitialised");
        return this.cmdWriter.send([
          encodeCommand(CONTROL_TOPIC, { kind: "enable", nodeId: id, enabled, request }),
        ]);
      })
      .catch(() => this.settleToggle(request));
  }

  private settleToggle(request: number): void {
    this.toggles.get(request)?.resolve();
    this.toggles.delete(request);
  }

  private settleAllToggles(): void {
    for (const t of this.toggles.values()) t.resolve();
    this.toggles.clear();
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
    this.outputs.clear();
    this.submitted.clear();
    const tcp = this.options.protocol === "tcp";
    const host = this.options.host ?? "127.0.0.1";
    const bindFor = (label: string): string =>
      tcp ? bindEndpoint({ protocol: "tcp", host }) : newIpcEndpoint(label);
    const keys = tcp && this.options.curve !== false ? generateCurveKeyPair() : undefined;
    const curve = keys ? { ...keys, domain: `weft.tube.${randomUUID()}` } : undefined;
    this.cmd = new zmq.XPublisher({ verbosity: "allSubs", linger: 0 });
    this.cmdWriter = new SocketWriter(this.cmd, { label: "tube commands" });
    this.control = new zmq.Pull({ linger: 0 });
    this.events = new zmq.Subscriber({ linger: 0 });
    if (curve) {
      this.releaseZap = await registerZapDomain(curve.domain, [curve.publicKey]);
      applyCurveServer(this.cmd, curve, curve.domain);
      applyCurveServer(this.control, curve, curve.domain);
      applyCurveClient(this.events, curve, curve.publicKey);
    }
    await this.cmd.bind(bindFor("tube-cmd"));
    await this.control.bind(bindFor("tube-ctl"));
    const command = this.cmd.lastEndpoint!;
    const control = this.control.lastEndpoint!;
    this.endpoints = [command, control];
    this.events.subscribe(CALLER_TOPIC);

    const ready = new Set<string>();
    let resolveReady!: () => void;
    let rejectReady!: (e: unknown) => void;
    const allReady = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    allReady.catch(() => {});
    void readLoop(this.control, (frames) => {
      const m = unpackSmall(frames[0]!) as ControlMessage;
      if (m.kind === "ready") {
        ready.add(m.nodeId);
        if (ready.size === this.nodeIds.length) resolveReady();
      } else if (m.kind === "status") {
        const w = this.statusWaiters.get(m.request);
        if (w === undefined) return;
        const { kind: _k, request: _r, ...status } = m;
        w.got.push(status);
        if (w.got.length >= w.want) {
          this.statusWaiters.delete(m.request);
          w.resolve(w.got.sort((a, b) => this.nodeIds.indexOf(a.nodeId) - this.nodeIds.indexOf(b.nodeId)));
        }
      } else if (m.kind === "enabled") {
        this.settleToggle(m.request);
      } else
        this.fail(
          new NodeError(`node "${m.nodeId}" failed in epoch ${m.epoch}: ${m.name}: ${m.message}`, {
            nodeId: m.nodeId,
            originalName: m.name,
            originalStack: m.stack,
          }),
        );
    });
    void readLoop(this.events, (frames) => this.onOutput(decodeOutput(frames)));

    const bound = new Map<string, string>();
    let resolveBound!: () => void;
    const allBound = new Promise<void>((res) => (resolveBound = res));
    for (const id of this.nodeIds) {
      // Every node that watches this one (a dependent, or a node inside one of its maps) plus the caller.
      const subscribers = this.nodeIds.filter((y) => this.model.watched(y).includes(id)).length + 1;
      const bind = bindFor(`tube-${id}`);
      const config: NodeRunnerConfig = {
        spec: spec.source === "<inline>" ? (this.tube.rawSpec ?? {}) : spec.source,
        baseDir: spec.baseDir,
        input: this.tube.input,
        nodeId: id,
        bind,
        command,
        control,
        subscribers,
        concurrency: Math.max(1, this.options.statelessConcurrency ?? 16),
        pooled: this.options.pool !== undefined,
        enabled: this.enabledOverride.get(id) ?? spec.nodes[id]!.enabled,
        toCaller: this.toCaller.has(id),
        metrics: this.options.metrics === true,
        ...(curve ? { curve } : {}),
      };
      const child = this.options.pool?.acquire() ?? spawnNodeProcess();
      this.children.set(id, child);
      const onMessage = (m: SetupReply): void => {
        if (m.kind !== "bound") return;
        bound.set(id, m.endpoint);
        if (bound.size === this.nodeIds.length) resolveBound();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.children.delete(id);
        this.detach.delete(child);
        if (this.closing) return;
        const err = new NodeError(`node "${id}" process exited (${signal ?? `code ${code}`})`, {
          nodeId: id,
          originalName: "ProcessExit",
        });
        rejectReady(err);
        this.fail(err);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      this.detach.set(child, () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      });
      child.send({ kind: "start", config } satisfies SetupMessage);
    }
    const deadline = this.options.startTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () =>
          rej(
            new TimeoutError(
              `tube ${spec.id}: node processes not ready within ${deadline} ms (ready: ${[...ready].join(", ") || "none"})`,
            ),
          ),
        deadline,
      );
    });
    try {
      await Promise.race([allBound, allReady, timeout]);
      for (const [id, endpoint] of bound) {
        this.events.connect(endpoint);
        if (endpoint.startsWith("ipc://")) this.endpoints.push(endpoint);
        void id;
      }
      const endpoints = Object.fromEntries(bound);
      this.nodeEndpoints = endpoints;
      for (const child of this.children.values())
        child.send({ kind: "peers", endpoints } satisfies SetupMessage);
      await Promise.race([allReady, timeout]);
      // Subscription barrier on the command socket: every node subscribed before the first command.
      let subs = 0;
      const cmd = this.cmd;
      await Promise.race([
        (async () => {
          while (subs < this.nodeIds.length) {
            const [frame] = await cmd.receive();
            // Every node subscribes to the process topic (if it needs it) before the control topic.
            if (frame?.[0] === 1 && frame[1] === CONTROL_TOPIC[0]) subs++;
          }
        })(),
        timeout,
      ]);
      // Keep draining (un)subscription notices so the XPUB never holds them.
      void readLoop(cmd, () => {});
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks every node process for its counters (epochs processed, held in its store, running; connected
   * subscribers; the order epochs started in). For monitoring and tests.
   */
  async nodeStatus(timeoutMs = 5000): Promise<NodeStatus[]> {
    await this.init();
    if (this.cmdWriter === undefined) throw new ClosedError(`tube ${this.tube.id}: runner was deinitialised`);
    const request = ++this.statusRequest;
    let timer: NodeJS.Timeout | undefined;
    const got = new Promise<NodeStatus[]>((resolve) =>
      this.statusWaiters.set(request, { want: this.nodeIds.length, got: [], resolve }),
    );
    await this.cmdWriter.send([encodeCommand(CONTROL_TOPIC, { kind: "status", request })]);
    try {
      return await Promise.race([
        got,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => {
            this.statusWaiters.delete(request);
            rej(new TimeoutError(`tube ${this.tube.id}: node status not answered within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
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
    return this.outputs.size;
  }

  private fail(err: NodeError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.settleAllToggles();
    const ws = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of ws) w.reject(err);
  }

  private onOutput(out: NodeOutput): void {
    let st = this.outputs.get(out.epoch);
    if (st === undefined) {
      const meta = this.submitted.get(out.epoch);
      this.submitted.delete(out.epoch);
      st = {
        report: meta?.report ?? true,
        outs: new RootOutputs(),
        outstanding: meta?.expect ?? this.rootNodes,
        counted: new Set(),
        parked: new Map(),
        failed: undefined,
      };
      this.outputs.set(out.epoch, st);
    }
    st.outs.add(out);
    if (out.error !== undefined) st.failed ??= out;
    // Events are only built for epochs submitted while someone listened (only those bring every output).
    if (st.report) this.emitEvents(out);
    if (out.path.length === 0) this.count(st, out);
    else {
      const s = this.model.scope[out.nodeId]!;
      const parent = `${s[s.length - 1]!}@${pathKey(out.path.slice(0, -1))}`;
      if (st.counted.has(parent)) this.count(st, out);
      else {
        const list = st.parked.get(parent);
        if (list === undefined) st.parked.set(parent, [out]);
        else list.push(out);
      }
    }
    if (st.outstanding > 0) return;
    this.outputs.delete(out.epoch);
    const value = this.returnValue(st.outs);
    if (st.report) {
      const epoch = new Epoch(out.epoch);
      const ended = makeEvent(META_NODE_ID, MetaSignal.EpochEnded, epoch, epoch.key);
      for (const cb of this.callbacks) cb(ended);
    }
    const w = this.waiters.get(out.epoch);
    if (w === undefined) return;
    this.waiters.delete(out.epoch);
    const failed = st.failed;
    if (failed?.error !== undefined) {
      const { nodeId, at, name, message, stack } = failed.error;
      w.reject(
        new NodeError(`node "${nodeId}" failed in epoch ${at}: ${name}: ${message}`, {
          nodeId,
          originalName: name,
          originalStack: stack,
        }),
      );
    } else w.resolve({ value, exhausted: st.outs.exhausted });
  }

  /** Counts one output as arrived; a map's output adds its sub-epochs and releases outputs parked on it. */
  private count(st: PendingRoot, out: NodeOutput): void {
    st.outstanding--;
    if (!this.model.mapped || !this.model.isMap(out.nodeId)) return;
    const key = `${out.nodeId}@${pathKey(out.path)}`;
    st.counted.add(key);
    const n = typeof out.signals.n === "number" ? out.signals.n : 0;
    st.outstanding += n * this.model.children.get(out.nodeId)!.length;
    const parked = st.parked.get(key);
    if (parked === undefined) return;
    st.parked.delete(key);
    for (const p of parked) this.count(st, p);
  }

  private emitEvents(out: NodeOutput): void {
    const epoch = this.model.epochOf(out.nodeId, out.epoch, out.path);
    const emit = (signal: string, at: Epoch, value: unknown): void => {
      const e = makeEvent(out.nodeId, signal, at, value);
      for (const cb of this.callbacks) cb(e);
    };
    if (this.model.isMap(out.nodeId)) {
      // As the in-process runners do: one `value` event per item in its sub-epoch, then `n`.
      const items = (out.signals.value as unknown[] | undefined) ?? [];
      for (let i = 0; i < items.length; i++) emit("value", epoch.child(out.nodeId, i), items[i]);
      if (out.signals.n !== undefined) emit("n", epoch, out.signals.n);
      return;
    }
    for (const [signal, value] of Object.entries(out.signals)) emit(signal, epoch, value);
  }

  private returnValue(outs: RootOutputs): unknown {
    const id = this.tube.returnNodeId;
    if (id === undefined) return undefined;
    const spec = this.tube.spec.nodes[id]!;
    const positional: unknown[] = [];
    let named: Record<string, unknown> | undefined;
    for (let k = 0; k < spec.depends.length; k++) {
      const d = spec.depends[k]!;
      if (d.source.kind !== "node") continue;
      const v = this.model.depValue(id, k, outs, []);
      if (v === undefined || v === NOT_READY) continue;
      if (typeof d.slot === "number") positional.push(v);
      else (named ??= {})[d.slot] = v;
    }
    this.returnRuntime ??= returnNode(spec);
    const r = this.returnRuntime.call(positional, named, { nodeId: id, epoch: ROOT_EPOCH });
    return r === NoEvent ? undefined : r;
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
    if (this.toggles.size > 0) await Promise.all([...this.toggles.values()].map((t) => t.acked));
    if (this.failure !== undefined) throw this.failure;
    if (this.cmdWriter === undefined) throw new ClosedError(`tube ${this.tube.id}: runner was deinitialised`);
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
    this.submitted.set(epoch, {
      report,
      expect: report || this.model.mapped ? this.rootNodes : this.toCaller.size,
    });
    const done = new Promise<EpochOutcome>((resolve, reject) => {
      this.waiters.set(epoch, { epoch, resolve, reject });
    });
    done.catch(() => {}); // observed by the caller; avoids an unhandled rejection while queued
    this.maxObservedInFlight = Math.max(this.maxObservedInFlight, this.waiters.size);
    await this.cmdWriter.send([
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
    const children = [...this.children.values()];
    if (this.cmdWriter !== undefined) {
      await Promise.race([
        this.cmdWriter.send([encodeCommand(CONTROL_TOPIC, { kind: "quit" })]).catch(() => {}),
        new Promise((r) => setTimeout(r, 100)),
      ]);
    }
    const quitMs = this.options.quitTimeoutMs ?? 2000;
    const pool = this.failure === undefined ? this.options.pool : undefined;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            this.detach.get(c)?.();
            this.detach.delete(c);
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const done = (): void => {
              clearTimeout(t);
              c.off("exit", onExit);
              c.off("message", onIdle);
              resolve();
            };
            const t = setTimeout(() => {
              c.kill("SIGKILL");
            }, quitMs);
            const onExit = (): void => done();
            // A pooled process that ended its session cleanly goes back to the pool; any other is ended.
            const onIdle = (m: SetupReply): void => {
              if (m.kind !== "idle") return;
              done();
              if (pool) pool.release(c);
              else c.kill("SIGKILL");
            };
            c.on("exit", onExit);
            c.on("message", onIdle);
          }),
      ),
    );
    this.children.clear();
    this.releaseZap?.();
    this.releaseZap = undefined;
    for (const w of this.statusWaiters.values()) w.resolve([]);
    this.statusWaiters.clear();
    this.settleAllToggles();
    this.cmdWriter?.close();
    for (const s of [this.cmd, this.control, this.events]) s?.close();
    this.cmd = this.control = this.events = undefined;
    this.cmdWriter = undefined;
    for (const e of this.endpoints) removeIpcFile(e);
    for (const w of this.waiters.values())
      w.reject(new ClosedError(`tube ${this.tube.id}: runner deinitialised`));
    this.waiters.clear();
    this.starting = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.deinit();
  }
}
