/**
 * The Proxy: a component of a named group that finds its peers and exchanges messages with them.
 * @module
 */
import { hostname } from "node:os";
import { splitMessages } from "../core/batch.ts";
import { decodeMessage, encodeMessage } from "../core/codec.ts";
import { ClosedError, PeersDisconnectionError, TimeoutError, UnknownPeerError } from "../core/errors.ts";
import { newId, randomToken } from "../core/ids.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import {
  Message,
  SessionMessage,
  type SessionReplyOptions,
  type SessionType,
  type DeriveOptions,
} from "../core/message.ts";
import { createRegistry } from "../discovery/create-registry.ts";
import type { MemberInfo, Registry } from "../discovery/registry.ts";
import type { ProxyStatsLike } from "../observability/proxy-metrics.ts";
import { ZmqDriver } from "../transport/driver.ts";
import { Inbox } from "./inbox.ts";
import { resolveProxyOptions, type ProxyOptions, type ResolvedProxyOptions } from "./options.ts";
import { PeerTracker, type PeerState } from "./peer-tracker.ts";
import { RejoinCache } from "./rejoin-cache.ts";
import { ReplyWaitClock, type ReplyWaitListener } from "./reply-wait-clock.ts";
import type { Expectation, ReplyWaiter } from "./reply-waiter.ts";
import { SessionTargets } from "./session-targets.ts";
import { WaitingCalls } from "./waiting-calls.ts";

/**
 * Per-call deadline.
 * @example
 * ```ts
 * const replies = await proxy.send(request, { timeoutMs: 5000 });
 * const next = await proxy.receiveOnce({ timeoutMs: 1000 });
 * ```
 */
export interface TimeoutOptions {
  /** Deadline of the whole call in ms; default the proxy's `defaultTimeoutMs` (none). */
  timeoutMs?: number;
}

/**
 * Counters a proxy keeps about itself.
 * @example
 * ```ts
 * const stats: ProxyStats = proxy.getStats();
 * console.log(stats.messagesSent, stats.bytesReceived, stats.decodeErrors);
 * ```
 */
export type ProxyStats = ProxyStatsLike;

/**
 * A member of a group: discovers its expected peers, then sends, scatters, broadcasts and receives.
 *
 * @example
 * ```ts
 * const proxy = await Proxy.create({ groupName: "job", componentType: "master", expectedPeers: { worker: 2 } });
 * const replies = await proxy.scatter("sum", SessionType.TASK, [["worker.0", [1, 2]], ["worker.1", [3, 4]]]);
 * await proxy.close();
 * ```
 */
export class Proxy implements AsyncDisposable {
  private readonly opts: ResolvedProxyOptions;
  private readonly log: LoggerLike;
  private registry!: Registry;
  private driver!: ZmqDriver;
  private member!: MemberInfo;
  private tracker!: PeerTracker;
  private readonly inbox: Inbox;
  private readonly calls: WaitingCalls;
  /** Which peers each recent outgoing session awaits replies from (see receiveById). */
  private readonly sessionTargets = new SessionTargets();
  private readonly cache: RejoinCache;
  private stopWatch: (() => void) | undefined;
  /** Times the waiting calls for the listeners of onReplyWait. */
  private readonly replyWaitClock = new ReplyWaitClock();
  private forgetTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The counters the proxy keeps itself (the rejoin cache counts what it drops and holds). */
  private readonly stats: Omit<ProxyStats, "dropped" | "cached"> = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    decodeErrors: 0,
  };

  private constructor(options: ProxyOptions) {
    this.opts = resolveProxyOptions(options, randomToken(6));
    this.log = options.logger ?? new InternalLogger(`proxy.${this.opts.componentName}`);
    this.inbox = new Inbox(this.opts.maxInboxSize);
    this.calls = new WaitingCalls(this.inbox, this.waitEnded);
    this.cache = new RejoinCache(this.opts.maxLengthForMessageCache);
  }

  /**
   * Joins the group: binds the inboxes, registers, waits for every expected peer, connects, and resolves
   * once each expected peer can receive broadcasts (so the first broadcast is never lost).
   */
  static async create(options: ProxyOptions): Promise<Proxy> {
    const proxy = new Proxy(options);
    try {
      await proxy.join();
    } catch (err) {
      await proxy.close();
      throw err;
    }
    return proxy;
  }

  /** This component's name. */
  get name(): string {
    return this.opts.componentName;
  }
  /** The group's name. */
  get groupName(): string {
    return this.opts.groupName;
  }
  /** This component's type. */
  get componentType(): string {
    return this.opts.componentType;
  }
  /** Names of the live peers, by type: `{ worker: ["worker.0", "worker.1"] }`. */
  get peersName(): Record<string, string[]> {
    return this.tracker.liveNames();
  }
  /** The type of peer `name` (live or failed), or undefined. */
  getPeerType(name: string): string | undefined {
    return this.tracker.get(name)?.member.type;
  }
  /** The bound endpoints of this component. */
  get addresses(): { unicast: string; broadcast: string } {
    return this.driver.addresses;
  }
  /** A snapshot of the proxy's counters. */
  getStats(): ProxyStats {
    return { ...this.stats, dropped: this.cache.dropped, cached: this.cache.total };
  }

  // -------------------------------------------------------------------------------------------------
  // Joining and peer tracking.

  private async join(): Promise<void> {
    this.registry = await createRegistry(this.opts.discovery, this.opts.logger);
    this.driver = await ZmqDriver.create(this.name, this.componentType, {
      ...this.opts.driver,
      logger: this.log,
    });
    this.driver.onFrames((frames) => this.onFrames(frames));
    this.tracker = new PeerTracker(this.opts, this.driver, this.registry, this.log, {
      connected: (name) => this.sendCached(name),
      drained: (name) => this.endWaitsOn(name),
      forgotten: (name) => this.dropCache(name),
    });
    this.driver.onPeerEvent((e) => this.tracker.onPeerEvent(e));
    this.member = {
      group: this.groupName,
      type: this.componentType,
      name: this.name,
      addresses: { ...this.driver.addresses },
      pid: process.pid,
      host: hostname(),
      meta: this.opts.driver.curve ? { curvePublicKey: this.opts.driver.curve.publicKey } : {},
      incarnation: newId(),
    };
    await this.registry.register(this.member);
    this.stopWatch = this.registry.watch(this.groupName, (e) => this.tracker.onMembership(e));
    await this.tracker.waitForExpectedPeers();
    const expectedNames = Object.values(this.tracker.liveNames()).flat();
    const missing = await this.driver.broadcastReadyWithin(expectedNames, this.opts.handshakeTimeoutMs);
    if (missing.length > 0) {
      throw new PeersDisconnectionError(
        `peers ${missing.join(", ")} were discovered but did not complete the handshake within ${this.opts.handshakeTimeoutMs} ms; ` +
          "check that they can reach this component's address (firewall, CURVE keys)",
      );
    }
    this.forgetTimer = setInterval(
      () => this.tracker.forgetOldFailures(),
      Math.min(this.opts.peersCatchLifetimeMs, 60_000),
    );
    this.forgetTimer.unref();
  }

  /** A peer (re)connected: what was cached for it while it was away goes first, in order. */
  private sendCached(name: string): void {
    const cached = this.cache.take(name);
    for (const msg of cached)
      this.transmit(msg).catch((err: unknown) =>
        this.log.warn(`cached message to ${name} lost: ${String(err)}`),
      );
  }

  /** Failed peer `name` is past its drain time: calls waiting for its replies end. */
  private endWaitsOn(name: string): void {
    this.calls.peerGone(name, this.opts.enableRejoin);
  }

  /** Failed peer `name` was forgotten: so is what was cached for it. */
  private dropCache(name: string): void {
    const lost = this.cache.forget(name);
    if (lost > 0) this.log.warn(`forgot ${name} after peersCatchLifetimeMs; dropped ${lost} cached messages`);
  }

  // -------------------------------------------------------------------------------------------------
  // Receiving.

  private onFrames(frames: Buffer[]): void | Promise<void> {
    if (frames.length === 1) this.onMessageFrames(frames);
    else for (const group of splitMessages(frames)) this.onMessageFrames(group);
    // Backpressure: stop reading while the inbox is full, unless a call waits for replies (its reply may be
    // next on the socket).
    if (this.inbox.full && this.calls.empty) return this.inbox.waitForRoom();
  }

  /** Decodes one message and hands it to a waiting call or the inbox. */
  private onMessageFrames(frames: readonly Buffer[]): void {
    let message: Message;
    try {
      message = decodeMessage(frames, { maxMessageBytes: this.opts.maxMessageBytes });
    } catch (err) {
      this.stats.decodeErrors++;
      this.log.debug(`ignored an undecodable message (${frames.length} frames): ${(err as Error).message}`);
      return;
    }
    this.stats.messagesReceived++;
    for (const f of frames) this.stats.bytesReceived += f.byteLength;
    if (!this.calls.offer(message)) this.inbox.push(message);
  }

  /** A waiting call for `expectations`; awaited peers that are already gone end it at once. */
  private addWaiter(expectations: Expectation[], timeoutMs: number | undefined): ReplyWaiter {
    const start = this.replyWaitClock.start();
    const waiter = this.calls.add(expectations, timeoutMs ?? this.opts.defaultTimeoutMs);
    this.replyWaitClock.began(waiter, start);
    for (const source of waiter.sources()) {
      if (this.tracker.drainedFailure(source)) waiter.peerGone(source, this.opts.enableRejoin);
    }
    return waiter;
  }

  /**
   * Waits for one message per session id in `sessionIds` (an id may repeat, e.g. after `ibroadcast`).
   * Other messages that arrive meanwhile stay in the inbox for `receive()`.
   */
  receiveById(sessionIds: readonly string[], options: TimeoutOptions = {}): Promise<Message[]> {
    try {
      this.assertOpen();
      // The targets of these sessions are forgotten when the wait ends (see waitEnded).
      return this.addWaiter(this.sessionTargets.expectations(sessionIds), options.timeoutMs).done;
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** A waiting call ended: the targets of its sessions are no longer needed; listeners learn its wait. */
  private readonly waitEnded = (waiter: ReplyWaiter): void => {
    for (const id of waiter.awaitedIds) this.sessionTargets.forget(id);
    this.replyWaitClock.ended(waiter);
  };

  /**
   * Calls `listener` with the time, in seconds, that each call waiting for replies (send, scatter,
   * broadcast, receiveById) waited, when it ends: all replies in, failed or timed out. Returns a function
   * that removes the listener. Costs nothing while no listener is registered.
   * @example
   * ```ts
   * const stop = proxy.onReplyWait((seconds) => histogram.observe(seconds));
   * stop();
   * ```
   */
  onReplyWait(listener: ReplyWaitListener): () => void {
    return this.replyWaitClock.listen(listener);
  }

  /**
   * Messages as they arrive (those not claimed by a pending call), until `close()` or the deadline.
   * @example
   * ```ts
   * for await (const msg of proxy.receive()) proxy.reply(msg, { payload: work(msg.payload) });
   * ```
   */
  receive(options: TimeoutOptions = {}): AsyncIterableIterator<Message> {
    const signal = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
    return this.inbox.messages(signal);
  }

  /** The next message; rejects with TimeoutError at the deadline. */
  async receiveOnce(options: TimeoutOptions = {}): Promise<Message> {
    this.assertOpen();
    const signal = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
    const m = await this.inbox.shift(signal);
    if (m === undefined) {
      if (this.closed) throw new ClosedError(`proxy ${this.name} is closed`);
      throw new TimeoutError(`no message arrived at ${this.name} within ${options.timeoutMs} ms`);
    }
    return m;
  }

  // -------------------------------------------------------------------------------------------------
  // Sending.

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`proxy ${this.name} is closed; create a new one`);
  }

  /** The wire frames of `message`; EncodeError when it cannot be encoded or is over maxMessageBytes. */
  private encode(message: Message): Uint8Array[] {
    return encodeMessage(message, { maxMessageBytes: this.opts.maxMessageBytes });
  }

  /** Counts one message handed to ZeroMQ. */
  private countSent(frames: readonly Uint8Array[]): void {
    this.stats.messagesSent++;
    for (const f of frames) this.stats.bytesSent += f.byteLength;
  }

  private async transmit(message: Message): Promise<void> {
    const frames = this.encode(message);
    await this.driver.sendUnicast(message.destination, frames);
    this.countSent(frames);
  }

  /**
   * Sends `message` without waiting for a reply. Resolves to its session id, or to `[]` when the
   * destination has failed and rejoin is on (the message is cached for it when the cache is enabled).
   * Resolves once ZeroMQ has accepted the message. Several calls in flight at once are faster than
   * awaiting each: the messages that queue up for a peer meanwhile leave as one ZeroMQ message (order kept).
   * @example
   * ```ts
   * await proxy.isend(new Message({ tag: "rollout", source: proxy.name, destination: "learner", payload }));
   * // Many small messages: keep a window of calls in flight.
   * await Promise.all(batch.map((m) => proxy.isend(m)));
   * ```
   */
  isend(message: Message): Promise<string[]> {
    // Not an async function: the common case (a live peer, no minimalPeers) costs one promise, from the
    // socket's writer, rather than one per awaited layer.
    try {
      this.assertOpen();
      const peer = this.tracker.get(message.destination);
      if (!peer) {
        throw new UnknownPeerError(
          `${this.name} knows no peer named ${JSON.stringify(message.destination)}; known peers: ${Object.values(this.peersName).flat().join(", ") || "none"}`,
        );
      }
      if (this.tracker.minimalFor(peer.member.type) > 0) return this.isendOnceEnoughPeers(message, peer);
      return this.isendTo(message, peer);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private async isendOnceEnoughPeers(message: Message, peer: PeerState): Promise<string[]> {
    await this.tracker.waitForMinimalPeers(peer.member.type);
    return this.isendTo(message, peer);
  }

  /** isend to a known peer; throws synchronously on an encoding error or a failed peer without rejoin. */
  private isendTo(message: Message, peer: PeerState): Promise<string[]> {
    if (!peer.alive) return Promise.resolve(this.holdForFailedPeer(message));
    const frames = this.encode(message);
    this.sessionTargets.remember(message.sessionId, message.destination);
    return this.driver.sendUnicast(message.destination, frames).then(
      () => {
        this.countSent(frames);
        return [message.sessionId];
      },
      (err: unknown) => {
        // Still queued here when the peer was found dead (its socket closed under it): the message never
        // reached ZeroMQ, so it is handled like a send to a failed peer (cached with rejoin, otherwise
        // PeersDisconnectionError) rather than lost with a socket error.
        if (!this.closed && !peer.alive) return this.holdForFailedPeer(message);
        throw err;
      },
    );
  }

  /** A message for a failed peer: an error without rejoin, else cached (when enabled) and no session id. */
  private holdForFailedPeer(message: Message): string[] {
    if (!this.opts.enableRejoin) {
      throw new PeersDisconnectionError(
        `peer ${message.destination} has disconnected; cannot send "${message.tag}"`,
      );
    }
    if (this.opts.enableMessageCacheForRejoin) {
      this.encode(message); // size errors surface now
      if (!this.cache.add(message.destination, message)) {
        this.log.warn(`rejoin cache of ${message.destination} is full; dropped its oldest message`);
      }
    }
    return [];
  }

  /** Sends `message` and resolves to its replies (one per session id sent). */
  send(message: Message, options: TimeoutOptions = {}): Promise<Message[]> {
    // The common case (a live peer, no minimalPeers) starts waiting for the reply before the message goes
    // out: the call is then the waiting call's own promise, without an isend and a receiveById layered on
    // it (each layer costs promises, and a lookup of `then` on every array it resolves with).
    let peer: PeerState | undefined;
    let frames: Uint8Array[];
    try {
      this.assertOpen();
      peer = this.tracker.get(message.destination);
      if (peer === undefined || !peer.alive || this.tracker.minimalFor(peer.member.type) > 0) {
        return this.sendThenWait(message, options);
      }
      frames = this.encode(message);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const { sessionId, destination } = message;
    this.sessionTargets.remember(sessionId, destination);
    const waiter = this.addWaiter([{ sessionId, source: destination }], options.timeoutMs);
    const live = peer;
    this.driver.sendUnicast(destination, frames).then(
      () => this.countSent(frames),
      (err: unknown) => this.sendFailed(waiter, message, live, err),
    );
    return waiter.done;
  }

  /** {@link send} through isend and receiveById (an unknown or failed peer, or minimalPeers to wait for). */
  private async sendThenWait(message: Message, options: TimeoutOptions): Promise<Message[]> {
    const ids = await this.isend(message);
    return this.receiveById(ids, options);
  }

  /**
   * The message of a waiting send did not reach ZeroMQ. Its peer was found dead meanwhile: handled like a
   * send to a failed peer (cached with rejoin and no reply awaited, otherwise PeersDisconnectionError);
   * any other failure ends the call with it.
   */
  private sendFailed(waiter: ReplyWaiter, message: Message, peer: PeerState, err: unknown): void {
    if (this.closed || peer.alive) {
      waiter.fail(err);
      return;
    }
    try {
      this.holdForFailedPeer(message);
    } catch (failure) {
      waiter.fail(failure);
      return;
    }
    waiter.peerGone(message.destination, true);
  }

  private sessionMessages(
    tag: string,
    sessionType: SessionType,
    pairs: readonly [string, unknown][],
  ): SessionMessage[] {
    return pairs.map(
      ([destination, payload]) =>
        new SessionMessage({ tag, source: this.name, destination, payload, sessionType }),
    );
  }

  /** Sends one message per `[destination, payload]` pair; resolves to the session ids sent. */
  async iscatter(
    tag: string,
    sessionType: SessionType,
    pairs: readonly [string, unknown][],
  ): Promise<string[]> {
    const ids: string[] = [];
    for (const m of this.sessionMessages(tag, sessionType, pairs)) ids.push(...(await this.isend(m)));
    return ids;
  }

  /** Scatters and resolves to the replies, in arrival order. */
  async scatter(
    tag: string,
    sessionType: SessionType,
    pairs: readonly [string, unknown][],
    options: TimeoutOptions = {},
  ): Promise<Message[]> {
    const ids = await this.iscatter(tag, sessionType, pairs);
    return this.receiveById(ids, options);
  }

  /**
   * Publishes one message to every live peer of `componentType` (exact type match). Resolves to its
   * session id repeated once per receiving peer.
   */
  async ibroadcast(
    componentType: string,
    tag: string,
    sessionType: SessionType,
    payload?: unknown,
  ): Promise<string[]> {
    this.assertOpen();
    if (!(componentType in this.opts.expectedPeers)) {
      throw new UnknownPeerError(
        `${this.name} has no peers of type ${JSON.stringify(componentType)}; expected types: ${Object.keys(this.opts.expectedPeers).join(", ")}`,
      );
    }
    await this.tracker.waitForMinimalPeers(componentType);
    const listed = this.peersName[componentType] ?? [];
    const message = new SessionMessage({
      tag,
      source: this.name,
      destination: componentType,
      payload,
      sessionType,
    });
    const frames = this.encode(message);
    // Peers that connected but have not subscribed yet would miss it: wait for their handshake. A peer
    // still not subscribed after handshakeTimeoutMs cannot get the message (e.g. its CURVE key and ours do
    // not accept each other): awaiting its reply would only fail the call, so it is not a target.
    const missing = await this.driver.broadcastReadyWithin(listed, this.opts.handshakeTimeoutMs);
    const targets = listed.filter((n) => !missing.includes(n));
    if (missing.length > 0) {
      this.log.warn(
        `broadcast "${tag}" skips ${missing.join(", ")}: no broadcast handshake within ${this.opts.handshakeTimeoutMs} ms`,
      );
    }
    await this.driver.broadcast(componentType, frames);
    this.countSent(frames);
    this.sessionTargets.remember(message.sessionId, targets);
    return targets.map(() => message.sessionId);
  }

  /** Broadcasts and resolves to exactly one reply per live peer of the type, each with the peer's name as source. */
  async broadcast(
    componentType: string,
    tag: string,
    sessionType: SessionType,
    payload?: unknown,
    options: TimeoutOptions = {},
  ): Promise<Message[]> {
    const ids = await this.ibroadcast(componentType, tag, sessionType, payload);
    return this.receiveById(ids, options);
  }

  /** Replies to `message` (to its source, same session). Resolves to the reply's session id list. */
  reply(message: Message, options: SessionReplyOptions = {}): Promise<string[]> {
    // Not an async function: isend's promise is the call's (one layer less on every reply).
    try {
      this.assertOpen();
      // A broadcast's destination is the component type: the reply's source must be this peer's own name.
      return this.isend(rebase(message.reply(options), this.name));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Forwards `message` to `destination` (same session). Resolves to the session id list. */
  forward(message: Message, destination: string, options: DeriveOptions = {}): Promise<string[]> {
    try {
      this.assertOpen();
      return this.isend(rebase(message.forward(destination, options), this.name));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Leaves the group: unregisters, fails pending calls, closes sockets. Idempotent; never hangs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.forgetTimer) clearInterval(this.forgetTimer);
    this.stopWatch?.();
    this.calls.failAll(() => new ClosedError(`proxy ${this.name} closed while waiting for replies`));
    this.inbox.close();
    this.tracker?.close();
    await this.registry?.close().catch((err: unknown) => this.log.debug(`registry close: ${String(err)}`));
    await this.driver?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The same message with `source` set to this component (broadcast messages carry the type as destination). */
function rebase<M extends Message>(message: M, source: string): M {
  if (message.source === source) return message;
  if (message instanceof SessionMessage) {
    return new SessionMessage({
      tag: message.tag,
      source,
      destination: message.destination,
      payload: message.payload,
      sessionId: message.sessionId,
      sessionType: message.sessionType,
      sessionStage: message.sessionStage,
    }) as unknown as M;
  }
  return new Message({ ...message, source }) as M;
}
