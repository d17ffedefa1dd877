/**
 * The router between the nodes of a pipeline job (DI-engine's `Parallel`).
 *
 * Every node binds one PULL socket. A *link* between two nodes is a PUSH socket each way, so links are
 * symmetric whoever dialed: a node dials the peers its topology names (mesh: all; star: the centre, or
 * every leaf for the centre; alone: none) plus its `attachTo` endpoints, and says hello; a node that
 * receives a hello from an endpoint it has no link to opens one back. PUSH/PULL keeps each sender's
 * order, and a connected PUSH queues until the peer binds, so nothing sent after `start()` is lost.
 * Wire format: see `wire.ts` (records batched per message, typed arrays as their own frames).
 * @module
 */
import { Pull } from "zeromq";
import { ConfigError, TimeoutError } from "../core/errors.ts";
import { packSmall, packValue, unpackSmall, unpackValue } from "../core/codec.ts";
import { removeIpcFile } from "../transport/addresses.ts";
import { readLoop } from "../transport/socket-reader.ts";
import {
  applyCurveServer,
  normalizeCurve,
  registerZapDomain,
  type CurveOptions,
} from "../transport/curve.ts";
import { discoverGroup, type GroupDiscovery } from "./discovery.ts";
import { runner } from "./launcher.ts";
import { PeerLink, type LinkState } from "./peer-link.ts";
import type { CloseOptions, ParallelOptions } from "./parallel-options.ts";
import { getActiveRouter, setActiveRouter, type TaskRouter } from "./router-link.ts";
import { endpointOf, peersOf, type EndpointOptions } from "./topology.ts";
import { RecordKind, decodeBatch, makeRecord, type InRecord, type OutRecord } from "./wire.ts";

/**
 * A linked peer, as reported by {@link Parallel.peers}.
 * @example
 * ```ts
 * for (const peer of router.peers()) console.log(peer.endpoint, peer.nodeId, peer.state, peer.dropped);
 * ```
 */
export interface PeerInfo {
  endpoint: string;
  nodeId: number | undefined;
  state: LinkState;
  queued: number;
  dropped: number;
}

interface Hello {
  /** Sender's node id. */
  id: number;
  /** Sender's advertised endpoint. */
  ep: string;
  /**
   * In a hello: the endpoint the sender dialed to reach the receiver. In a welcome: that endpoint echoed
   * back. The dialer's handshake is keyed by what it dialed, which may name the peer differently from the
   * peer's own advertised endpoint (`localhost` vs `127.0.0.1`, a host name vs an address).
   */
  to?: string;
}

interface Finish {
  /** Endpoint of the node that finished first. */
  o: string;
  /** Its finish counter. */
  n: number;
  /** Endpoint of the node that relayed it last. */
  v: string;
}

/**
 * Links this process into a job and carries task events between nodes.
 * @example
 * ```ts
 * const router = await Parallel.start({ nodeId: 0, nParallelWorkers: 2, jobId: "job1" });
 * task.start(); // labels now include "distributed" and "node.0"
 * // …
 * await router.close();
 * ```
 */
export class Parallel implements TaskRouter {
  readonly nodeId: number;
  readonly labels: ReadonlySet<string>;
  #options: ParallelOptions;
  #pull = new Pull();
  #links = new Map<string, PeerLink>();
  #endpoint = "";
  #active = false;
  #closed = false;
  #forwarders = new Map<string, (args: unknown[]) => void>();
  #buffered = new Map<string, unknown[][]>();
  #maxBuffered: number;
  #heard = new Set<string>();
  /** Advertised endpoint of a dialed peer → the endpoint it was dialed under (the key of its link). */
  #aliases = new Map<string, string>();
  /** The job's finish once seen, replayed to nodes that link to this one later. */
  #finished: { o: string; n: number } | undefined;
  #helloWaiter: (() => void) | undefined;
  #reading: Promise<void> | undefined;
  #dropped = 0;
  #droppedSends = 0;
  #decodeErrors = 0;
  #finishSeq = 0;
  #finishSeen = new Set<string>();
  #peerListeners = new Set<(peer: PeerInfo) => void>();
  #discovery: GroupDiscovery | undefined;
  #dialed: string[] = [];
  #curve: (Required<CurveOptions> & { peerPublicKey: string }) | undefined;
  #releaseZap: (() => void) | undefined;

  private constructor(options: ParallelOptions) {
    this.nodeId = options.nodeId;
    this.labels = new Set(options.labels ?? []);
    this.#options = options;
    this.#maxBuffered = options.maxBufferedPerEvent ?? 10_000;
    if (options.curve !== undefined && (options.protocol ?? "ipc") === "tcp") {
      const curve = normalizeCurve(options.curve);
      this.#curve = { ...curve, peerPublicKey: options.curve.peerPublicKey ?? curve.publicKey };
    }
  }

  /**
   * Binds, links to the peers of its topology and `attachTo`, and waits until each has answered (no
   * sleeps; TimeoutError after `startTimeoutMs`). Registers the router as the active one, so
   * `task.start()` becomes distributed.
   */
  static async start(options: ParallelOptions): Promise<Parallel> {
    const { nodeId, nParallelWorkers: n } = options;
    const first = options.firstNodeId ?? 0;
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`nParallelWorkers must be ≥ 1, got ${n}`);
    if (!Number.isInteger(first) || first < 0)
      throw new ConfigError(`firstNodeId must be a non-negative integer, got ${first}`);
    if (!Number.isInteger(nodeId) || nodeId < first || nodeId >= first + n)
      throw new ConfigError(`nodeId must be an integer in [${first}, ${first + n - 1}], got ${nodeId}`);
    for (const a of options.attachTo ?? [])
      if (!/^(tcp|ipc):\/\/.+/.test(a))
        throw new ConfigError(`attachTo address "${a}" is not tcp://host:port or ipc://path`);
    const p = new Parallel(options);
    try {
      await p.#link();
    } catch (e) {
      await p.close({ flushTimeoutMs: 0 });
      throw e;
    }
    p.#active = true;
    setActiveRouter(p);
    return p;
  }

  /** Starts a job of worker processes: see {@link runner}. */
  static runner = runner;

  /** The endpoint node `i` binds, from the options (ipc: a file in the runtime directory; tcp: ports + i). */
  static endpointOf(options: EndpointOptions, i: number): string {
    return endpointOf(options, i);
  }

  /** True while linked. */
  get isActive(): boolean {
    return this.#active;
  }

  /** Remote events dropped because no listener subscribed before the per-event buffer filled. */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Events not sent because a peer's send queue was full (a slow or exited peer). */
  get droppedSends(): number {
    let n = this.#droppedSends;
    for (const l of this.#links.values()) n += l.dropped;
    return n;
  }

  /** Received messages that could not be decoded (ignored). */
  get decodeErrors(): number {
    return this.#decodeErrors;
  }

  /** The endpoint this node bound and advertises. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /**
   * Number of peers this node is linked to now (dialed or accepted, those that left excluded), as
   * DI-engine's `get_attach_to_len` tells whether a node has anyone to talk to.
   */
  getAttachToLen(): number {
    let n = 0;
    for (const l of this.#links.values()) if (l.state !== "gone") n++;
    return n;
  }

  /** The linked peers with their state and queue. */
  peers(): PeerInfo[] {
    return [...this.#links.values()].map(info);
  }

  /** Calls `listener` whenever a peer's link changes state; returns a function that stops it. */
  onPeerState(listener: (peer: PeerInfo) => void): () => void {
    this.#peerListeners.add(listener);
    return () => this.#peerListeners.delete(listener);
  }

  /** Resolves once every reachable peer's queue has been handed to ZeroMQ (false after `timeoutMs`). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const all = [...this.#links.values()].filter((l) => l.state !== "down").map((l) => l.flushed(timeoutMs));
    return (await Promise.all(all)).every(Boolean);
  }

  /**
   * Sends `event` with `args` to every linked node, in order. `finish` is relayed by every node to its
   * other links, so it reaches nodes this one is not linked to.
   */
  emit(event: string, args: unknown[]): void {
    if (!this.#active) return;
    if (event === "finish") {
      const f: Finish = { o: this.#endpoint, n: ++this.#finishSeq, v: this.#endpoint };
      this.#finishSeen.add(`${f.o}#${f.n}`);
      this.#finished = { o: f.o, n: f.n };
      this.#broadcast(makeRecord(RecordKind.FINISH, "", packSmall(f)), undefined);
      return;
    }
    const { body, attachments } = packValue(args);
    this.#broadcast(makeRecord(RecordKind.EVENT, `task.${event}`, body, attachments), undefined);
  }

  /** Installs the one forwarder of `event` and delivers what was buffered for it. */
  on(event: string, deliver: (args: unknown[]) => void): void {
    this.#forwarders.set(event, deliver);
    const buffered = this.#buffered.get(event);
    if (buffered !== undefined) {
      this.#buffered.delete(event);
      for (const args of buffered) deliver(args);
    }
  }

  /** Removes the forwarder of `event`. */
  off(event: string): void {
    this.#forwarders.delete(event);
  }

  /**
   * Says goodbye to every peer (they stop sending to this node), waits up to `flushTimeoutMs` for the
   * queues of reachable peers to drain, closes the sockets (bounded linger) and unregisters the router.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#active = false;
    if (getActiveRouter() === this) setActiveRouter(undefined);
    const bye = makeRecord(RecordKind.BYE, "", packSmall({ ep: this.#endpoint }));
    const flushMs = options.flushTimeoutMs ?? 5000;
    const waits: Array<Promise<boolean>> = [];
    for (const l of this.#links.values()) {
      // A peer that disconnected may be gone for good: do not wait for it. "connecting" is waited for:
      // ZeroMQ reports a connection a little after it can already carry messages.
      if (l.state === "down" || l.state === "gone") continue;
      l.enqueue(bye);
      if (flushMs > 0) waits.push(l.flushed(flushMs));
    }
    await Promise.all(waits);
    for (const l of this.#links.values()) {
      this.#droppedSends += l.dropped;
      l.close(l.state === "down" ? 0 : undefined);
    }
    this.#links.clear();
    this.#pull.close();
    await this.#reading;
    await this.#discovery?.close();
    this.#releaseZap?.();
    removeIpcFile(this.#endpoint);
  }

  // --------------------------------------------------------------------------------------- internals

  async #link(): Promise<void> {
    const o = this.#options;
    const tcp = (o.protocol ?? "ipc") === "tcp";
    const curve = this.#curve;
    if (curve !== undefined) {
      // The ZAP domain names this node, so each node's allowed keys are its own even within one process.
      const domain = `weft.pipeline.${o.jobId ?? "job"}.${this.nodeId}.${process.pid}`;
      this.#releaseZap = await registerZapDomain(domain, curve.allowedPublicKeys);
      applyCurveServer(this.#pull, curve, domain);
    }
    let advertised: string;
    if (o.redisUrl !== undefined && tcp) {
      const host = o.nodeAddresses?.[this.nodeId] ?? o.address ?? "127.0.0.1";
      await this.#pull.bind(`tcp://${o.bindAddress ?? host}:0`);
      const port = /:(\d+)$/.exec(this.#pull.lastEndpoint ?? "")?.[1];
      advertised = `tcp://${host}:${port}`;
    } else {
      advertised = endpointOf(o, this.nodeId);
      const bind =
        tcp && o.bindAddress !== undefined
          ? advertised.replace(/^tcp:\/\/.*:/, `tcp://${o.bindAddress}:`)
          : advertised;
      await this.#pull.bind(bind);
    }
    this.#endpoint = advertised;
    this.#reading = readLoop(this.#pull, (frames) => this.#onFrames(frames), undefined, {
      receiveWithoutCheck: true,
    });
    const group = {
      size: o.nParallelWorkers,
      ...(o.topology === undefined ? {} : { topology: o.topology }),
      ...(o.firstNodeId === undefined ? {} : { firstNodeId: o.firstNodeId }),
    };
    const peerIds = peersOf(group, this.nodeId);
    const timeoutMs = o.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let peerEndpoints: string[];
    if (o.redisUrl !== undefined) {
      if (o.jobId === undefined) throw new ConfigError("redisUrl needs a jobId naming the job in Redis");
      this.#discovery = await discoverGroup({
        url: o.redisUrl,
        jobId: o.jobId,
        nodeId: this.nodeId,
        endpoint: advertised,
      });
      const found = await this.#discovery.waitFor(peerIds, deadline);
      peerEndpoints = peerIds.map((id) => found.get(id) as string);
    } else peerEndpoints = peerIds.map((id) => endpointOf(o, id));
    const dial = [...new Set([...peerEndpoints, ...(o.attachTo ?? [])])].filter((e) => e !== advertised);
    this.#dialed = dial;
    for (const ep of dial)
      this.#linkTo(ep).enqueue(
        makeRecord(
          RecordKind.HELLO,
          "",
          packSmall({ id: this.nodeId, ep: advertised, to: ep } satisfies Hello),
        ),
      );
    if (!this.#handshakeDone()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#helloWaiter = resolve;
          timer = setTimeout(
            () => {
              const missing = dial.filter((e) => !this.#heard.has(e));
              reject(
                new TimeoutError(
                  `node ${this.nodeId}: no answer within ${timeoutMs} ms from ${missing.join(", ")}; ` +
                    "start every node of the job, check the addresses and ports, or raise startTimeoutMs",
                ),
              );
            },
            Math.max(0, deadline - Date.now()),
          );
        });
      } finally {
        clearTimeout(timer);
        this.#helloWaiter = undefined;
      }
    }
  }

  #handshakeDone(): boolean {
    return this.#dialed.every((e) => this.#heard.has(e));
  }

  /** The key of the link to the peer advertising `ep` (the endpoint it was dialed under, if it was). */
  #keyOf(ep: string): string {
    return this.#aliases.get(ep) ?? ep;
  }

  #linkTo(advertised: string): PeerLink {
    const ep = this.#keyOf(advertised);
    let link = this.#links.get(ep);
    if (link !== undefined && link.state !== "gone") return link;
    const o = this.#options;
    link = new PeerLink(ep, {
      ...(o.maxQueuedPerPeer === undefined ? {} : { maxQueued: o.maxQueuedPerPeer }),
      ...(o.maxQueuedWhilePeerDown === undefined ? {} : { maxQueuedWhileDown: o.maxQueuedWhilePeerDown }),
      ...(o.sendHighWaterMark === undefined ? {} : { sendHighWaterMark: o.sendHighWaterMark }),
      ...(this.#curve === undefined
        ? {}
        : { curve: { ...this.#curve, serverPublicKey: this.#curve.peerPublicKey } }),
      onState: (l) => {
        for (const fn of this.#peerListeners) fn(info(l));
      },
    });
    this.#links.set(ep, link);
    return link;
  }

  #broadcast(record: OutRecord, except: string | undefined): void {
    for (const l of this.#links.values()) if (l.endpoint !== except) l.enqueue(record);
  }

  #onFrames(frames: Buffer[]): void {
    let records: InRecord[];
    try {
      records = decodeBatch(frames);
    } catch {
      this.#decodeErrors++;
      return;
    }
    for (const r of records) {
      try {
        this.#onRecord(r);
      } catch {
        this.#decodeErrors++;
      }
    }
  }

  #onRecord(r: InRecord): void {
    if (r.kind === RecordKind.EVENT) {
      if (!r.name.startsWith("task.")) return;
      const event = r.name.slice(5);
      const args = unpackValue(r.body, r.attachments) as unknown[];
      this.#deliver(event, Array.isArray(args) ? args : [args]);
      return;
    }
    if (this.#closed) return;
    switch (r.kind) {
      case RecordKind.HELLO:
      case RecordKind.WELCOME: {
        const h = unpackSmall(r.body) as Hello;
        if (typeof h?.ep !== "string") return;
        const to = typeof h.to === "string" ? h.to : undefined;
        if (r.kind === RecordKind.WELCOME && to !== undefined && to !== h.ep && this.#dialed.includes(to))
          this.#alias(h.ep, to);
        const link = this.#linkTo(h.ep);
        link.nodeId = h.id;
        if (r.kind === RecordKind.HELLO) {
          const welcome: Hello = { id: this.nodeId, ep: this.#endpoint, ...(to === undefined ? {} : { to }) };
          link.enqueue(makeRecord(RecordKind.WELCOME, "", packSmall(welcome)));
          // A node that links after the job finished must learn it, or it would wait for a finish that
          // was sent before it was there.
          const f = this.#finished;
          if (f !== undefined)
            link.enqueue(
              makeRecord(RecordKind.FINISH, "", packSmall({ ...f, v: this.#endpoint } satisfies Finish)),
            );
        }
        this.#heard.add(h.ep);
        if (r.kind === RecordKind.WELCOME && to !== undefined) this.#heard.add(to);
        if (this.#helloWaiter !== undefined && this.#handshakeDone()) this.#helloWaiter();
        return;
      }
      case RecordKind.BYE: {
        const { ep } = unpackSmall(r.body) as { ep: string };
        const key = this.#keyOf(ep);
        const link = this.#links.get(key);
        if (link === undefined) return;
        this.#droppedSends += link.dropped;
        link.close(0);
        this.#links.delete(key);
        return;
      }
      case RecordKind.FINISH: {
        const f = unpackSmall(r.body) as Finish;
        const key = `${f.o}#${f.n}`;
        if (this.#finishSeen.has(key)) return;
        this.#finishSeen.add(key);
        this.#finished = { o: f.o, n: f.n };
        const relay = makeRecord(RecordKind.FINISH, "", packSmall({ o: f.o, n: f.n, v: this.#endpoint }));
        const from = this.#keyOf(f.v);
        const origin = this.#keyOf(f.o);
        for (const l of this.#links.values())
          if (l.endpoint !== from && l.endpoint !== origin) l.enqueue(relay);
        this.#deliver("finish", [true]);
        return;
      }
      default:
        this.#decodeErrors++;
    }
  }

  /**
   * Records that the peer advertising `advertised` is the one dialed as `dialed`. A link opened to the
   * advertised endpoint by the peer's earlier hello is a second link to the same node: it is closed (what
   * it carried so far is control records only, and its linger still delivers them), so events are not
   * sent twice.
   */
  #alias(advertised: string, dialed: string): void {
    if (this.#aliases.get(advertised) === dialed) return;
    this.#aliases.set(advertised, dialed);
    const twin = this.#links.get(advertised);
    if (twin === undefined) return;
    this.#links.delete(advertised);
    this.#droppedSends += twin.dropped;
    twin.close();
  }

  #deliver(event: string, args: unknown[]): void {
    const fwd = this.#forwarders.get(event);
    if (fwd !== undefined) {
      fwd(args);
      return;
    }
    let list = this.#buffered.get(event);
    if (list === undefined) this.#buffered.set(event, (list = []));
    if (list.length < this.#maxBuffered) list.push(args);
    else this.#dropped++;
  }
}

function info(l: PeerLink): PeerInfo {
  return { endpoint: l.endpoint, nodeId: l.nodeId, state: l.state, queued: l.queued, dropped: l.dropped };
}
