/**
 * The Task: a training loop built from middleware, DI-engine's `ding.framework.Task`.
 * @module
 */
import { ClosedError, ConfigError } from "../core/errors.ts";
import { Context } from "./context.ts";
import { EventLoop, type Listener } from "./event-loop.ts";
import { EventForwarders } from "./event-forwarders.ts";
import { waitForEvent } from "./event-wait.ts";
import { globToRegExp } from "./glob.ts";
import { JobPool } from "./job-pool.ts";
import { Lock } from "./lock.ts";
import {
  type Backward,
  type Middleware,
  type StackEntry,
  isPromiseLike,
  runBackward,
  runForward,
} from "./middleware.ts";
import type { RoleName } from "./roles.ts";
import { getActiveRouter, type TaskRouter } from "./router-link.ts";
import type { MiddlewareWrapper, TaskStartOptions, UseOptions, WaitForOptions } from "./task-options.ts";

interface Registered {
  fn: Middleware;
  lock: Lock | undefined;
}

const VOID: Middleware = () => undefined;
const toUndefined = (): undefined => undefined;
/** Give the event loop a turn at least this often while `run` loops over synchronous steps. */
const YIELD_EVERY_MS = 5;

/**
 * A pipeline of middlewares run step after step over a fresh {@link Context}. Use the {@link task}
 * singleton in applications; `new Task()` gives an independent one (tests, several loops in one process).
 * @example
 * ```ts
 * await using t = new Task().start();
 * t.use((ctx) => { ctx.set("x", ctx.totalStep); });
 * t.use(function* (ctx) { const t0 = performance.now(); yield; console.log(performance.now() - t0); });
 * await t.run({ maxStep: 10 });
 * ```
 */
export class Task {
  /** The current step's context. */
  ctx: Context<any> = new Context();
  #middleware: Registered[] = [];
  #wrappers: MiddlewareWrapper[] = [];
  #stack: StackEntry[] = [];
  #asyncStack: Array<Promise<unknown>> = [];
  #asyncMode = false;
  #jobs = new JobPool(3);
  #running = false;
  #finish = false;
  #exception: { error: unknown } | undefined;
  #lock = new Lock();
  #roles = new Set<string>();
  #userLabels = new Set<string>();
  #stopWaiters = new Set<(e: Error) => void>();
  #events = new EventLoop({
    onError: (error) => {
      this.#exception ??= { error };
    },
  });
  #remote = new EventForwarders(this.#events);

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** True in async mode. */
  get asyncMode(): boolean {
    return this.#asyncMode;
  }

  /** The router of this node, when it is part of a multi-node job. */
  get router(): TaskRouter | undefined {
    return this.#remote.router;
  }

  /**
   * Set to end `run` after the current step (its backward still runs). Setting it to `true` on a node of
   * a job tells every other node to finish too.
   */
  get finish(): boolean {
    return this.#finish;
  }
  set finish(value: boolean) {
    const was = this.#finish;
    this.#finish = value;
    if (value && !was && this.router !== undefined) this.emitRemote("finish", true);
  }

  /**
   * Starts the task: sets the mode, the first context and labels, and links to the job's router.
   * Returns `this`, so `await using t = task.start()` stops it at the end of the block.
   */
  start(options: TaskStartOptions = {}): this {
    if (this.#running) throw new ConfigError("task is already started; call stop() before starting it again");
    const n = options.nAsyncWorkers ?? 3;
    if (!Number.isInteger(n) || n < 1)
      throw new ConfigError(`nAsyncWorkers must be an integer ≥ 1, got ${n}`);
    this.#asyncMode = options.asyncMode ?? false;
    this.#jobs.limit = n;
    this.ctx = options.ctx ?? new Context();
    this.#userLabels = new Set(options.labels ?? []);
    this.#finish = false;
    this.#exception = undefined;
    this.#running = true;
    this.#remote.link(options.router ?? getActiveRouter());
    if (this.router !== undefined) {
      this.on("finish", () => {
        this.#finish = true;
      });
      this.#remote.forwardAll();
    }
    return this;
  }

  /**
   * Appends a middleware. Wrappers registered with `useWrapper` are applied to it. `task.void()` is skipped.
   */
  use(fn: Middleware, options: UseOptions = {}): this {
    if (typeof fn !== "function") throw new ConfigError(`a middleware must be a function, got ${typeof fn}`);
    if (fn === VOID) return this;
    let wrapped = fn;
    for (const w of this.#wrappers) wrapped = w(wrapped);
    this.#middleware.push({ fn: wrapped, lock: this.#resolveLock(options.lock) });
    return this;
  }

  /** Adds a wrapper applied to every middleware, those already registered included. Wrappers stack. */
  useWrapper(wrapper: MiddlewareWrapper): this {
    for (const m of this.#middleware) m.fn = wrapper(m.fn);
    this.#wrappers.push(wrapper);
    return this;
  }

  /**
   * Wraps `fn` so that calling the result runs `fn`'s forward and returns a {@link Backward} that runs
   * `fn`'s backward alone. If that backward is never called, the step's global backward runs it. The
   * return value is synchronous for plain functions and generators (without lock contention) and a
   * promise otherwise.
   */
  wrap(fn: Middleware, options: UseOptions = {}): (ctx: any) => Backward | Promise<Backward> {
    const lock = this.#resolveLock(options.lock);
    return (ctx: any) => {
      const r = this.#forwardStacked(fn, ctx ?? this.ctx, lock);
      return isPromiseLike(r) ? r.then((e) => this.#backwardOf(e)) : this.#backwardOf(r);
    };
  }

  /**
   * Runs `fn`'s forward on `ctx` (default the current context) and stacks it for the step's backward.
   * In async mode the forward is started and tracked; `sync()` waits for it.
   */
  forward(fn: Middleware, ctx?: Context<any>): void | Promise<void> {
    const r = this.#forwardStacked(fn, ctx ?? this.ctx, undefined);
    if (!isPromiseLike(r)) return;
    if (this.#asyncMode) {
      this.#track(r);
      return;
    }
    return r.then(() => undefined);
  }

  /** Runs the backward of every stacked middleware (or of `stack`), last-in first-out. */
  backward(stack: StackEntry[] = this.#stack): void | Promise<void> {
    while (stack.length > 0) {
      const r = runBackward(stack.pop() as StackEntry);
      if (isPromiseLike(r)) return r.then(() => this.backward(stack));
    }
  }

  /** A middleware that runs `fns` one after the other, in order, in every mode. */
  serial(...fns: Middleware[]): Middleware {
    const serial = (ctx: any): void | Promise<void> => {
      for (let i = 0; i < fns.length; i++) {
        const r = this.#forwardStacked(fns[i] as Middleware, ctx, undefined);
        if (isPromiseLike(r)) return r.then(() => serial.rest(ctx, i + 1));
      }
    };
    serial.rest = async (ctx: any, from: number): Promise<void> => {
      for (let i = from; i < fns.length; i++)
        await this.#forwardStacked(fns[i] as Middleware, ctx, undefined);
    };
    Object.defineProperty(serial, "name", { value: `serial<${fns.map((f) => f.name).join(",")}>` });
    return serial;
  }

  /** A middleware that starts `fns` concurrently and waits for all of them. */
  parallel(...fns: Middleware[]): Middleware {
    const parallel = async (ctx: any): Promise<void> => {
      const all: Array<Promise<unknown>> = [];
      for (const fn of fns) {
        const r = this.#forwardStacked(fn, ctx, undefined);
        if (isPromiseLike(r)) all.push(r as Promise<unknown>);
      }
      await Promise.all(all);
    };
    Object.defineProperty(parallel, "name", { value: `parallel<${fns.map((f) => f.name).join(",")}>` });
    return parallel;
  }

  /**
   * Runs steps until `maxStep` steps have run or `finish` is set. Every step runs all forwards, then the
   * backward; `finish` is checked between steps; after the last step `finish` is set; otherwise the
   * context is renewed. Errors of middlewares, async jobs and event listeners are re-thrown here.
   */
  async run(options: { maxStep?: number } = {}): Promise<void> {
    const maxStep = options.maxStep ?? Infinity;
    if (!this.#running) throw new ClosedError("the task is not started; call task.start() before run()");
    if (this.#middleware.length === 0) return;
    let lastYield = performance.now();
    for (let i = 0; i < maxStep; i++) {
      const r = this.#asyncMode ? this.#stepAsync() : this.#stepSync();
      if (r !== undefined) await r;
      if (this.#asyncStack.length > 0) await this.sync();
      this.#throwPending();
      if (i === maxStep - 1) this.#finish = true;
      if (this.#finish || !this.#running) break;
      this.ctx = this.ctx.renew();
      const now = performance.now();
      if (now - lastYield >= YIELD_EVERY_MS) {
        // Let I/O (remote events, timers) in; a purely synchronous loop would starve it.
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
        this.#throwPending();
      }
    }
  }

  /** Finishes the current step (backward and async jobs) and moves to a renewed context. */
  async renew(): Promise<this> {
    await this.backward();
    await this.sync();
    this.ctx = this.ctx.renew();
    return this;
  }

  /**
   * Waits for every async forward and `asyncExecutor` job; re-throws the first failure (the others are
   * still awaited so none is left unhandled).
   */
  async sync(): Promise<void> {
    while (this.#asyncStack.length > 0) {
      const batch = this.#asyncStack;
      this.#asyncStack = [];
      try {
        await Promise.all(batch);
      } catch (e) {
        this.#exception = undefined;
        throw e;
      }
    }
    this.#throwPending();
  }

  /** Runs `fn(...args)` as a tracked background job (at most `nAsyncWorkers` at once); `sync()` waits for it. */
  asyncExecutor<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Promise<unknown> {
    const job = this.#jobs.run(fn, args);
    this.#track(job);
    return job;
  }

  /**
   * Stops the task: runs the pending backward, waits for async jobs, tells the other nodes to finish,
   * removes middlewares, wrappers and listeners. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    try {
      await this.backward();
      await this.sync();
    } finally {
      if (this.router !== undefined && !this.#finish) this.finish = true;
      this.#running = false;
      this.#finish = true;
      this.#remote.unlink();
      this.#middleware = [];
      this.#wrappers = [];
      this.#stack = [];
      this.#roles.clear();
      this.#events.clear();
      const err = new ClosedError("the task stopped while waiting for an event");
      for (const w of this.#stopWaiters) w(err);
      this.#stopWaiters.clear();
    }
  }

  /** Stops the task (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // ------------------------------------------------------------------------------------------ events

  /** Emits `event` to the local listeners and, in a job, to every other node. */
  emit(event: string, ...args: unknown[]): void {
    this.emitRemote(event, ...args);
    this.#events.emit(event, ...args);
  }

  /** Emits `event` to the local listeners only. */
  emitLocal(event: string, ...args: unknown[]): void {
    this.#events.emit(event, ...args);
  }

  /** Emits `event` to the other nodes only (nothing happens outside a job). */
  emitRemote(event: string, ...args: unknown[]): void {
    // Not `this.router`: asking the forwarders directly saves a getter call on every remote event.
    this.#remote.router?.emit(event, args);
  }

  /** Listens to `event`, emitted locally or by any other node. */
  on(event: string, fn: Listener): this {
    this.#events.on(event, fn);
    this.#remote.forward(event);
    return this;
  }

  /** Listens to the next `event` only. */
  once(event: string, fn: Listener): this {
    this.#events.once(event, fn);
    this.#remote.forward(event);
    return this;
  }

  /**
   * Removes `fn` from `event`, or all its listeners. `event` may be a glob. Remote delivery stops only for
   * events left without any listener.
   */
  off(event: string, fn?: Listener): this {
    this.#remote.drop(this.#events.off(event, fn));
    return this;
  }

  /**
   * Resolves with the arguments of the next `event`. Rejects with TimeoutError after `timeoutMs` (or
   * resolves `undefined` with `ignoreTimeoutException`), and with ClosedError if the task stops first.
   */
  waitFor(event: string, options: WaitForOptions = {}): Promise<unknown[] | undefined> {
    return waitForEvent(this, this.#stopWaiters, event, options);
  }

  // ------------------------------------------------------------------------------------ labels, roles

  /** `standalone` or `distributed` + `node.<id>` + the router's labels, `async` in async mode, plus the user's. */
  get labels(): Set<string> {
    const out = new Set(this.#userLabels);
    const router = this.router;
    if (router === undefined) out.add("standalone");
    else {
      out.add("distributed");
      out.add(`node.${router.nodeId}`);
      for (const l of router.labels) out.add(l);
    }
    if (this.#asyncMode) out.add("async");
    return out;
  }

  /** True when any of `patterns` (globs) matches any label, as DI-engine's `match_labels`. */
  matchLabels(patterns: string | Iterable<string>): boolean {
    const list = typeof patterns === "string" ? [patterns] : [...patterns];
    const labels = [...this.labels];
    return list.some((p) => labels.some((l) => globToRegExp(p).test(l)));
  }

  /** Adds a role to this node. */
  addRole(role: RoleName): this {
    this.#roles.add(role);
    return this;
  }

  /** True when this node has `role`, or when no role was added at all (a node then plays every role). */
  hasRole(role: RoleName): boolean {
    return this.#roles.size === 0 || this.#roles.has(role);
  }

  /** The roles added. */
  get roles(): ReadonlySet<string> {
    return this.#roles;
  }

  /** A middleware that `use` skips: `task.use(task.hasRole(Role.LEARNER) ? trainer : task.void())`. */
  void(): Middleware {
    return VOID;
  }

  // --------------------------------------------------------------------------------------- internals

  #stepSync(): void | Promise<void> {
    const ctx = this.ctx;
    const mws = this.#middleware;
    for (let i = 0; i < mws.length; i++) {
      const m = mws[i] as Registered;
      const r = this.#forwardStacked(m.fn, ctx, m.lock);
      if (isPromiseLike(r)) return r.then(() => this.#stepRest(ctx, i + 1));
    }
    return this.backward();
  }

  async #stepRest(ctx: Context<any>, from: number): Promise<void> {
    const mws = this.#middleware;
    for (let i = from; i < mws.length; i++) {
      const m = mws[i] as Registered;
      await this.#forwardStacked(m.fn, ctx, m.lock);
    }
    await this.backward();
  }

  #stepAsync(): void | Promise<void> {
    const ctx = this.ctx;
    const mws = this.#middleware;
    const n = mws.length;
    // All forwards start now; their suspended generators are stacked in registration order so that the
    // backward stays last-in first-out whatever order the forwards finished in.
    const results: Array<StackEntry | undefined | Promise<StackEntry | undefined>> = new Array(n);
    // Promises of plain async middlewares (no backward: only waited for) and, first, those that resolve
    // to a stack entry.
    const waits: Array<PromiseLike<unknown>> = [];
    let slots: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const m = mws[i] as Registered;
      let r: StackEntry | undefined | Promise<StackEntry | undefined>;
      try {
        r = runForward(m.fn, ctx, m.lock, waits);
      } catch (e) {
        // This is the step's failure; the forwards already started go on, and a later failure of theirs
        // is not reported (as sync() reports only the first) nor left unhandled.
        for (const p of waits) Promise.resolve(p).catch(toUndefined);
        for (const j of slots ?? []) (results[j] as Promise<unknown>).catch(toUndefined);
        throw e;
      }
      results[i] = r;
      if (isPromiseLike(r)) (slots ??= []).push(i);
    }
    if (slots === undefined && waits.length === 0)
      return this.#endAsyncStep(results as Array<StackEntry | undefined>);
    const all = slots === undefined ? waits : [...slots.map((i) => results[i] as Promise<unknown>), ...waits];
    if (this.#asyncStack.length > 0) {
      // Background jobs were started too: sync() waits for them and the forwards together and reports
      // whichever fails first.
      for (const p of all) this.#track(Promise.resolve(p));
      return this.sync().then(() => this.#settledStep(results));
    }
    // One promise for the whole step rather than one await per middleware: a step of quick async
    // middlewares is dominated by promise bookkeeping.
    return Promise.all(all).then(
      (values) => {
        if (slots !== undefined)
          for (let j = 0; j < slots.length; j++)
            results[slots[j] as number] = values[j] as StackEntry | undefined;
        return this.#endAsyncStep(results as Array<StackEntry | undefined>);
      },
      (e: unknown) => {
        this.#exception = undefined;
        throw e;
      },
    );
  }

  async #settledStep(
    results: Array<StackEntry | undefined | Promise<StackEntry | undefined>>,
  ): Promise<void> {
    const entries: Array<StackEntry | undefined> = [];
    for (const r of results) entries.push(isPromiseLike(r) ? await r : r);
    await this.#endAsyncStep(entries);
  }

  /** Waits for background jobs started during the step, stacks the suspended forwards, runs the backward. */
  #endAsyncStep(entries: Array<StackEntry | undefined>): void | Promise<void> {
    if (this.#asyncStack.length > 0) return this.sync().then(() => this.#endAsyncStep(entries));
    this.#throwPending();
    for (const e of entries) if (e !== undefined) this.#stack.push(e);
    return this.backward();
  }

  #forwardStacked(
    fn: Middleware,
    ctx: unknown,
    lock: Lock | undefined,
  ): StackEntry | undefined | Promise<StackEntry | undefined> {
    if (!this.#running) throw new ClosedError("the task is not started; call task.start() first");
    const r = runForward(fn, ctx, lock);
    if (isPromiseLike(r)) {
      return r.then((e) => {
        if (e !== undefined) this.#stack.push(e);
        return e;
      });
    }
    if (r !== undefined) this.#stack.push(r);
    return r;
  }

  #backwardOf(entry: StackEntry | undefined): Backward {
    return () => {
      if (entry === undefined) return;
      const i = this.#stack.lastIndexOf(entry);
      // Already run by the global backward: nothing left to do.
      if (i < 0) return;
      this.#stack.splice(i, 1);
      return runBackward(entry);
    };
  }

  #track(p: Promise<unknown>): void {
    // Handled here so a failure is never "unhandled" before sync() looks at it.
    p.catch(() => undefined);
    this.#asyncStack.push(p);
  }

  #resolveLock(lock: boolean | Lock | undefined): Lock | undefined {
    if (lock === true) return this.#lock;
    if (lock instanceof Lock) return lock;
    return undefined;
  }

  #throwPending(): void {
    const ex = this.#exception;
    if (ex !== undefined) {
      this.#exception = undefined;
      throw ex.error;
    }
  }
}

/**
 * The process-wide task, as DI-engine's `ding.framework.task`.
 * @example
 * ```ts
 * import { task } from "weft";
 * task.start();
 * task.use((ctx) => { ctx.set("n", ctx.totalStep); });
 * await task.run({ maxStep: 3 });
 * await task.stop();
 * ```
 */
export const task = new Task();
