/**
 * The ZeroMQ driver of a component: the sockets it binds, the connections it holds, and the liveness
 * signals they give.
 *
 * - a PULL *unicast inbox* (bound) and a SUB *broadcast inbox* (bound, subscribed to its own type topic and
 *   to its own name topic);
 * - one PUSH per peer (connected to the peer's unicast inbox), each with its own {@link SocketWriter}.
 *   Messages that queue up for a peer while a send is in progress leave together as one multipart
 *   message, so a unicast receive may hold several wire messages (split them with `splitMessages`);
 * - one XPUB *broadcast publisher* connected to every peer's broadcast inbox. Broadcast frames start with
 *   the topic `t:<type>\0`; the trailing NUL makes the match exact (`actor` does not get `actor_eval`).
 *   XPUB sees each peer's subscription to `n:<name>\0`, which is how the driver knows that a peer can
 *   receive broadcasts (the readiness handshake: no sleeps, no lost first broadcast). `noDrop` makes the
 *   publisher wait instead of silently dropping when a subscriber falls behind.
 * @module
 */
import * as zmq from "zeromq";
import { ClosedError, ConfigError, UnknownPeerError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { bindEndpoint, isLoopbackHost, removeIpcFile, type Protocol } from "./addresses.ts";
import {
  applyCurveClient,
  applyCurveServer,
  normalizeCurve,
  registerZapDomain,
  type CurveOptions,
} from "./curve.ts";
import { readLoop } from "./socket-reader.ts";
import { SocketWriter } from "./socket-writer.ts";

/** Limits of one coalesced unicast send: many small messages, never a large one with others. */
const COALESCE = { maxMessages: 64, maxBytes: 64 * 1024 };

/**
 * Socket options of a driver.
 * @example
 * ```ts
 * const options: DriverOptions = { protocol: "ipc", sendTimeoutMs: 5000, highWaterMark: 1000 };
 * const driver = await ZmqDriver.create("worker.0", "worker", options);
 * ```
 */
export interface DriverOptions {
  /** `"tcp"` (default) or `"ipc"`. */
  protocol?: Protocol;
  /** Interface to bind for TCP. Default `"127.0.0.1"`. Other interfaces without `curve` log a warning. */
  host?: string;
  /** ZMQ_SNDTIMEO: how long a send may wait for room, in ms. Default 10 000. */
  sendTimeoutMs?: number;
  /** ZMQ_SNDHWM / ZMQ_RCVHWM: messages queued per connection. Default 10 000. */
  highWaterMark?: number;
  /** ZMQ_LINGER: how long `close()` may flush pending messages, in ms. Default 1000 (close never hangs). */
  lingerMs?: number;
  /** CURVE keys: encrypts every TCP connection and admits only allowed public keys. */
  curve?: CurveOptions;
  /** Logger. */
  logger?: LoggerLike;
}

/**
 * What a driver needs to know to connect to a peer.
 * @example
 * ```ts
 * const master: PeerEndpoint = {
 *   name: "master",
 *   type: "master",
 *   unicast: "tcp://127.0.0.1:5000",
 *   broadcast: "tcp://127.0.0.1:5001",
 * };
 * driver.connect(master);
 * ```
 */
export interface PeerEndpoint {
  name: string;
  type: string;
  unicast: string;
  broadcast: string;
  /** The peer's CURVE public key (required when `curve` is on). */
  curvePublicKey?: string;
}

/**
 * Socket-level events about peers.
 * @example
 * ```ts
 * driver.onPeerEvent((event: DriverPeerEvent) => {
 *   if (event.kind === "disconnected") console.warn(`${event.name} went away`);
 * });
 * ```
 */
export type DriverPeerEvent =
  | { kind: "broadcast-ready"; name: string }
  | { kind: "disconnected"; name: string }
  | { kind: "connected"; name: string };

/**
 * Handler of received frames; `channel` says which inbox they came through.
 * @example
 * ```ts
 * const handler: DriverFramesHandler = (frames, channel) => {
 *   console.log(channel, decodeMessage(frames).tag);
 * };
 * driver.onFrames(handler);
 * ```
 */
export type DriverFramesHandler = (
  frames: Buffer[],
  channel: "unicast" | "broadcast",
) => void | Promise<void>;

interface PeerLink {
  endpoint: PeerEndpoint;
  push: zmq.Push;
  writer: SocketWriter;
}

/**
 * Topic frame of a broadcast to `type`.
 * @example
 * ```ts
 * typeTopic("worker"); // "t:worker\0"
 * ```
 */
export function typeTopic(type: string): string {
  return `t:${type}\0`;
}
function nameTopic(name: string): string {
  return `n:${name}\0`;
}

/**
 * One component's sockets.
 *
 * @example
 * ```ts
 * const driver = await ZmqDriver.create("worker.0", "worker", { protocol: "tcp" });
 * driver.onFrames((frames, channel) => handle(frames));
 * driver.connect({ name: "master", type: "master", unicast: "tcp://…", broadcast: "tcp://…" });
 * await driver.sendUnicast("master", frames);
 * await driver.close();
 * ```
 */
export class ZmqDriver {
  readonly addresses: { unicast: string; broadcast: string };
  private readonly links = new Map<string, PeerLink>();
  private readonly broadcastReady = new Set<string>();
  private readonly readyWaiters = new Set<() => void>();
  private framesHandler: DriverFramesHandler = () => {};
  private peerHandler: (event: DriverPeerEvent) => void = () => {};
  private readonly readers: Promise<void>[] = [];
  private closed = false;
  private releaseZap: (() => void) | undefined;
  private xpubServerKey: string | undefined;
  /** Number of received messages that failed in the frames handler (e.g. undecodable). */
  receiveErrors = 0;

  private constructor(
    readonly name: string,
    readonly type: string,
    private readonly options: DriverOptions,
    private readonly pull: zmq.Pull,
    private readonly sub: zmq.Subscriber,
    private readonly xpub: zmq.XPublisher,
    private readonly xpubWriter: SocketWriter,
    private readonly log: LoggerLike,
  ) {
    this.addresses = { unicast: pull.lastEndpoint ?? "", broadcast: sub.lastEndpoint ?? "" };
  }

  /** Binds the inboxes and starts their read loops. */
  static async create(name: string, type: string, options: DriverOptions = {}): Promise<ZmqDriver> {
    const log = options.logger ?? new InternalLogger(`driver.${name}`);
    const hwm = options.highWaterMark ?? 10_000;
    const linger = options.lingerMs ?? 1000;
    if (!(hwm > 0)) throw new ConfigError("highWaterMark must be a positive number of messages");
    const protocol = options.protocol ?? "tcp";
    const host = options.host ?? "127.0.0.1";
    const curve = options.curve ? normalizeCurve(options.curve) : undefined;
    if (protocol === "tcp" && !isLoopbackHost(host) && !curve) {
      log.warn(
        `binding ${host} without CURVE: traffic on this interface is neither encrypted nor authenticated; pass driver.curve`,
      );
    }
    const pull = new zmq.Pull({ receiveHighWaterMark: hwm, linger });
    const sub = new zmq.Subscriber({ receiveHighWaterMark: hwm, linger });
    const xpub = new zmq.XPublisher({ sendHighWaterMark: hwm, linger, noDrop: true, verbosity: "allSubs" });
    xpub.sendTimeout = options.sendTimeoutMs ?? 10_000;
    let releaseZap: (() => void) | undefined;
    try {
      if (curve && protocol === "tcp") {
        const domain = `weft.${name}`;
        releaseZap = await registerZapDomain(domain, curve.allowedPublicKeys);
        applyCurveServer(pull, curve, domain);
        applyCurveServer(sub, curve, domain);
      }
      await pull.bind(bindEndpoint({ protocol, host, label: `${name}-u` }));
      await sub.bind(bindEndpoint({ protocol, host, label: `${name}-b` }));
    } catch (err) {
      pull.close();
      sub.close();
      xpub.close();
      releaseZap?.();
      throw new ConfigError(
        `cannot bind the inboxes of ${name} (${protocol}, ${host}): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    sub.subscribe(typeTopic(type), nameTopic(name));
    const driver = new ZmqDriver(
      name,
      type,
      options,
      pull,
      sub,
      xpub,
      new SocketWriter(xpub, { label: "broadcast" }),
      log,
    );
    driver.releaseZap = releaseZap;
    driver.start();
    return driver;
  }

  private start(): void {
    const onError = (err: unknown): void => {
      this.receiveErrors++;
      this.log.debug(`dropped a received message: ${String(err)}`);
    };
    this.readers.push(
      readLoop(this.pull, (f) => this.framesHandler(f, "unicast"), onError, { receiveWithoutCheck: true }),
    );
    this.readers.push(
      readLoop(
        this.sub,
        // Drop the topic frame: handlers see the same frames on both channels.
        (f) => this.framesHandler(f.slice(1), "broadcast"),
        onError,
      ),
    );
    this.readers.push(readLoop(this.xpub, (f) => this.onSubscription(f)));
  }

  private onSubscription(frames: Buffer[]): void {
    const frame = frames[0];
    if (frame === undefined || frame.length < 2 || frame[0] !== 1) return;
    const topic = frame.subarray(1).toString();
    if (!topic.startsWith("n:") || !topic.endsWith("\0")) return;
    const name = topic.slice(2, -1);
    this.broadcastReady.add(name);
    this.peerHandler({ kind: "broadcast-ready", name });
    for (const wake of [...this.readyWaiters]) wake();
  }

  /** Sets the handler of every received message. */
  onFrames(handler: DriverFramesHandler): void {
    this.framesHandler = handler;
  }

  /** Sets the handler of socket-level peer events. */
  onPeerEvent(handler: (event: DriverPeerEvent) => void): void {
    this.peerHandler = handler;
  }

  /** True when a link to `name` exists. */
  hasPeer(name: string): boolean {
    return this.links.has(name);
  }

  /** True when `name` has subscribed to this component's broadcasts. */
  isBroadcastReady(name: string): boolean {
    return this.broadcastReady.has(name);
  }

  /** Resolves when every peer in `names` can receive broadcasts, or when `signal` aborts. */
  async waitBroadcastReady(names: readonly string[], signal?: AbortSignal): Promise<void> {
    while (!names.every((n) => this.broadcastReady.has(n))) {
      if (this.closed) throw new ClosedError(`driver of ${this.name} is closed`);
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.readyWaiters.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.readyWaiters.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
  }

  /**
   * Waits up to `timeoutMs` for every peer in `names` to be able to receive broadcasts; resolves to those
   * still unable then (empty when all are ready). ClosedError when the driver closes meanwhile.
   */
  async broadcastReadyWithin(names: readonly string[], timeoutMs: number): Promise<string[]> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.waitBroadcastReady(names, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    return names.filter((n) => !this.broadcastReady.has(n));
  }

  /** Opens the links to `peer` (unicast PUSH and a broadcast subscription). Replaces an older link. */
  connect(peer: PeerEndpoint): void {
    if (this.closed) throw new ClosedError(`driver of ${this.name} is closed`);
    this.disconnect(peer.name);
    const push = new zmq.Push({
      sendHighWaterMark: this.options.highWaterMark ?? 10_000,
      linger: this.options.lingerMs ?? 1000,
    });
    const curve = this.options.curve;
    if (curve && peer.unicast.startsWith("tcp://")) {
      if (!peer.curvePublicKey) {
        push.close();
        throw new ConfigError(
          `peer ${peer.name} publishes no CURVE public key; every member of a CURVE group needs curve options`,
        );
      }
      applyCurveClient(push, curve, peer.curvePublicKey);
      // Options set on a socket that has connected before only apply to its next connect (zeromq.js warns
      // each time): set them only when this peer's server key differs from the last one (a shared group
      // key pair needs it once).
      if (this.xpubServerKey !== peer.curvePublicKey) {
        applyCurveClient(this.xpub, curve, peer.curvePublicKey);
        this.xpubServerKey = peer.curvePublicKey;
      }
    }
    push.events.on("disconnect", () => {
      if (this.links.get(peer.name)?.push === push)
        this.peerHandler({ kind: "disconnected", name: peer.name });
    });
    push.events.on("handshake", () => {
      if (this.links.get(peer.name)?.push === push) this.peerHandler({ kind: "connected", name: peer.name });
    });
    push.connect(peer.unicast);
    this.xpub.connect(peer.broadcast);
    // Messages queued for a peer while the previous send was in progress go out together (the proxy
    // splits them on receipt): one native send and one receive instead of one per message.
    // The send timeout applies only when the peer's queue is full (see waitForRoomMs).
    const writer = new SocketWriter(push, {
      label: peer.name,
      coalesce: COALESCE,
      waitForRoomMs: this.options.sendTimeoutMs ?? 10_000,
    });
    this.links.set(peer.name, { endpoint: peer, push, writer });
  }

  /** Closes the links to `name` (messages still queued for it are dropped). */
  disconnect(name: string): void {
    const link = this.links.get(name);
    if (!link) return;
    this.links.delete(name);
    this.broadcastReady.delete(name);
    link.writer.close();
    // The socket's observer closes with the socket (closing it first makes its pending read throw).
    link.push.linger = 0;
    link.push.close();
    try {
      this.xpub.disconnect(link.endpoint.broadcast);
    } catch {
      // Not connected any more.
    }
  }

  /** Sends frames to one peer through its own queue. */
  sendUnicast(name: string, frames: readonly Uint8Array[]): Promise<void> {
    const link = this.links.get(name);
    if (!link)
      return Promise.reject(new UnknownPeerError(`${this.name} has no link to ${JSON.stringify(name)}`));
    return link.writer.send(frames);
  }

  /** Publishes frames to every connected peer of `type`. */
  broadcast(type: string, frames: readonly Uint8Array[]): Promise<void> {
    return this.xpubWriter.send([typeTopic(type), ...frames]);
  }

  /** Closes every socket; pending sends get at most `lingerMs` to flush. Never hangs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const name of [...this.links.keys()]) this.disconnect(name);
    this.xpubWriter.close();
    for (const wake of [...this.readyWaiters]) wake();
    this.pull.close();
    this.sub.close();
    this.xpub.close();
    this.releaseZap?.();
    removeIpcFile(this.addresses.unicast);
    removeIpcFile(this.addresses.broadcast);
    await Promise.allSettled(this.readers);
  }
}
