/**
 * The peers of one proxy: who is in the group, who is alive, and what happens when one joins, fails,
 * rejoins or is forgotten. Fed by the registry's membership events and the driver's disconnect hints.
 * @module
 */
import { ClosedError, InformationUncompletedError, PeersRejoinTimeout } from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import type { MemberInfo, MembershipEvent, Registry } from "../discovery/registry.ts";
import type { DriverPeerEvent, ZmqDriver } from "../transport/driver.ts";
import type { ResolvedProxyOptions } from "./options.ts";

/**
 * How long replies from a peer that just failed may still arrive before calls waiting for it end.
 * @example
 * ```ts
 * const failedLongEnough = Date.now() - peer.failedAt >= PEER_DRAIN_MS;
 * ```
 */
export const PEER_DRAIN_MS = 250;

/**
 * What a proxy knows about one peer.
 * @example
 * ```ts
 * const peer: PeerState | undefined = tracker.get("worker.0");
 * if (peer && !peer.alive) console.log(`failed ${Date.now() - peer.failedAt} ms ago`);
 * ```
 */
export interface PeerState {
  member: MemberInfo;
  alive: boolean;
  failedAt: number;
  rejoins: number;
}

/**
 * What the proxy does at the turning points of a peer's life.
 * @example
 * ```ts
 * const hooks: PeerHooks = {
 *   connected: (name) => sendCachedMessages(name),
 *   drained: (name) => endWaitsOn(name),
 *   forgotten: (name) => dropCache(name),
 * };
 * ```
 */
export interface PeerHooks {
  /** Peer `name` joined (or rejoined) and is connected. */
  connected(name: string): void;
  /** Peer `name` failed and its drain time has passed: calls waiting for its replies may end. */
  drained(name: string): void;
  /** Failed peer `name` was forgotten after `peersCatchLifetimeMs`. */
  forgotten(name: string): void;
}

type TrackerOptions = Pick<
  ResolvedProxyOptions,
  | "componentName"
  | "groupName"
  | "expectedPeers"
  | "maxRejoinTimes"
  | "maxRetries"
  | "retryIntervalBaseMs"
  | "peersCatchLifetimeMs"
  | "minimalPeers"
  | "timeoutForMinimalPeerNumberMs"
>;

/**
 * The live and failed peers of a proxy, by name.
 * @example
 * ```ts
 * const tracker = new PeerTracker(opts, driver, registry, log, hooks);
 * const stop = registry.watch(opts.groupName, (e) => tracker.onMembership(e));
 * await tracker.waitForExpectedPeers();
 * tracker.liveNames(); // { worker: ["worker.0", "worker.1"] }
 * ```
 */
export class PeerTracker {
  private readonly peers = new Map<string, PeerState>();
  private readonly watchers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly opts: TrackerOptions,
    private readonly driver: ZmqDriver,
    private readonly registry: Registry,
    private readonly log: LoggerLike,
    private readonly hooks: PeerHooks,
  ) {}

  /** The state of peer `name` (live or failed), if known. */
  get(name: string): PeerState | undefined {
    return this.peers.get(name);
  }

  /** Names of the live peers by type, sorted; every expected type is present. */
  liveNames(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const type of Object.keys(this.opts.expectedPeers)) out[type] = [];
    for (const [name, p] of this.peers) if (p.alive) (out[p.member.type] ??= []).push(name);
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  /** Whether peer `source` failed at least the drain time ago (a wait on it can end at once). */
  drainedFailure(source: string): boolean {
    const peer = this.peers.get(source);
    return peer !== undefined && !peer.alive && Date.now() - peer.failedAt >= PEER_DRAIN_MS;
  }

  /** Expected types that have fewer live peers than expected, as "type: have of need". */
  private missing(): string[] {
    const missing: string[] = [];
    const live = this.liveNames();
    for (const [type, n] of Object.entries(this.opts.expectedPeers)) {
      const have = live[type]?.length ?? 0;
      if (have < n) missing.push(`${type}: ${have} of ${n}`);
    }
    return missing;
  }

  /** Polls the registry (doubling interval) until every expected peer is alive; InformationUncompletedError after maxRetries. */
  async waitForExpectedPeers(): Promise<void> {
    let interval = this.opts.retryIntervalBaseMs;
    for (let attempt = 0; ; attempt++) {
      for (const m of await this.registry.list(this.opts.groupName))
        this.onMembership({ kind: "join", member: m });
      if (this.missing().length === 0) return;
      if (attempt >= this.opts.maxRetries) break;
      await this.waitForChange(interval);
      interval *= 2;
    }
    throw new InformationUncompletedError(
      `${this.opts.componentName} could not find every expected peer in group "${this.opts.groupName}" after ${this.opts.maxRetries} retries ` +
        `(missing ${this.missing().join("; ")}); start the missing components or raise maxRetries / retryIntervalBaseMs`,
    );
  }

  /** How many live peers of `type` a send to that type needs (`minimalPeers`); 0: none. */
  minimalFor(type: string): number {
    const m = this.opts.minimalPeers;
    return typeof m === "number" ? m : (m[type] ?? 0);
  }

  /**
   * Resolves once `type` has its `minimalPeers` live peers; PeersRejoinTimeout after
   * `timeoutForMinimalPeerNumberMs`, ClosedError when the tracker closes meanwhile.
   */
  async waitForMinimalPeers(type: string): Promise<void> {
    const need = this.minimalFor(type);
    if (need <= 0) return;
    const deadline = Date.now() + this.opts.timeoutForMinimalPeerNumberMs;
    while ((this.liveNames()[type]?.length ?? 0) < need) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PeersRejoinTimeout(
          `only ${this.liveNames()[type]?.length ?? 0} ${type} peers alive, ${need} required (minimalPeers), after ${this.opts.timeoutForMinimalPeerNumberMs} ms`,
        );
      }
      await this.waitForChange(left);
      if (this.closed) throw new ClosedError(`proxy ${this.opts.componentName} is closed; create a new one`);
    }
  }

  /** Resolves after `ms`, or earlier when a peer joins or leaves (or the tracker closes). */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.watchers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.watchers.add(done);
    });
  }

  private notifyChange(): void {
    for (const wake of [...this.watchers]) wake();
  }

  /** A registry event: connect to a joining peer, fail a leaving one. */
  onMembership(event: MembershipEvent): void {
    if (this.closed) return;
    const m = event.member;
    if (m.name === this.opts.componentName || !(m.type in this.opts.expectedPeers)) return;
    const known = this.peers.get(m.name);
    if (event.kind === "leave") {
      if (known && known.member.incarnation === m.incarnation) this.failed(m.name, "left the group");
      return;
    }
    // The same incarnation reappearing after a leave was a false alarm (e.g. a discovery outage): reconnect.
    if (known && known.member.incarnation === m.incarnation && known.alive) return;
    if (known) {
      if (known.alive) this.failed(m.name, "restarted");
      if (known.rejoins >= this.opts.maxRejoinTimes) {
        this.log.warn(
          `${m.name} rejoined more than maxRejoinTimes (${this.opts.maxRejoinTimes}); ignoring it`,
        );
        return;
      }
    }
    try {
      this.driver.connect({
        name: m.name,
        type: m.type,
        unicast: m.addresses.unicast ?? "",
        broadcast: m.addresses.broadcast ?? "",
        ...(typeof m.meta.curvePublicKey === "string" ? { curvePublicKey: m.meta.curvePublicKey } : {}),
      });
    } catch (err) {
      this.log.error(`cannot connect to ${m.name}: ${(err as Error).message}`);
      return;
    }
    this.peers.set(m.name, { member: m, alive: true, failedAt: 0, rejoins: known ? known.rejoins + 1 : 0 });
    if (known) this.log.info(`${m.name} rejoined`);
    this.hooks.connected(m.name);
    this.notifyChange();
  }

  /** A driver event: a disconnect is a hint, confirmed with the registry (pid / heartbeat) before failing the peer. */
  onPeerEvent(event: DriverPeerEvent): void {
    if (event.kind !== "disconnected" || this.closed) return;
    const peer = this.peers.get(event.name);
    if (!peer?.alive) return;
    const member = peer.member;
    this.registry.isAlive(member).then(
      (alive) => {
        if (!alive && this.peers.get(member.name)?.member.incarnation === member.incarnation) {
          this.failed(member.name, "disconnected");
        }
      },
      (err: unknown) => this.log.debug(`liveness check of ${member.name} failed: ${String(err)}`),
    );
  }

  /** Marks peer `name` failed and disconnects it; waits on it end after the drain time. */
  failed(name: string, why: string): void {
    const peer = this.peers.get(name);
    if (!peer?.alive) return;
    peer.alive = false;
    peer.failedAt = Date.now();
    this.driver.disconnect(name);
    this.log.warn(`peer ${name} ${why}`);
    // A peer that replies and leaves at once may unregister before its reply has crossed the socket: calls
    // waiting for it end only after a short drain, so replies already in flight are still taken.
    const incarnation = peer.member.incarnation;
    const timer = setTimeout(() => {
      const now = this.peers.get(name);
      if (this.closed || (now?.alive && now.member.incarnation !== incarnation)) return;
      this.hooks.drained(name);
    }, PEER_DRAIN_MS);
    timer.unref();
    this.notifyChange();
  }

  /** Forgets peers that failed more than `peersCatchLifetimeMs` ago. */
  forgetOldFailures(): void {
    const now = Date.now();
    for (const [name, p] of this.peers) {
      if (!p.alive && now - p.failedAt > this.opts.peersCatchLifetimeMs) {
        this.peers.delete(name);
        this.hooks.forgotten(name);
      }
    }
  }

  /** Stops reacting to events and wakes every waiter. */
  close(): void {
    this.closed = true;
    this.notifyChange();
  }
}
