/**
 * The ZMQRunner caller's sockets: the command XPUB every node process subscribes to, the control PULL
 * they report to, and the SUB that receives the node outputs the caller needs. On TCP they are
 * CURVE-encrypted with a key pair made for the session, checked by a ZAP domain of its own.
 * @module
 */
import { randomUUID } from "node:crypto";
import * as zmq from "zeromq";
import { bindEndpoint, newIpcEndpoint, removeIpcFile } from "../../transport/addresses.ts";
import {
  applyCurveClient,
  applyCurveServer,
  generateCurveKeyPair,
  registerZapDomain,
} from "../../transport/curve.ts";
import { readLoop } from "../../transport/socket-reader.ts";
import { SocketWriter, type Frames } from "../../transport/socket-writer.ts";
import {
  CALLER_TOPIC,
  CONTROL_TOPIC,
  decodeOutput,
  unpackSmall,
  type ControlMessage,
  type NodeOutput,
  type NodeRunnerConfig,
} from "./protocol.ts";

/**
 * Transport of a {@link CommandChannel}: the `protocol`, `curve` and `host` options of the ZMQRunner.
 * @example
 * ```ts
 * const options: CommandChannelOptions = { protocol: "tcp", host: "127.0.0.1" };
 * const channel = new CommandChannel(options);
 * ```
 */
export interface CommandChannelOptions {
  /** `"ipc"` (default) or `"tcp"`. */
  protocol?: "ipc" | "tcp";
  /** CURVE on TCP. Default true (ignored for ipc). */
  curve?: boolean;
  /** Host to bind TCP sockets on. Default `"127.0.0.1"`. */
  host?: string;
}

/**
 * The caller's side of one ZMQRunner session. The sockets exist from construction, so that closing
 * releases them even when `open` failed half way.
 * @example
 * ```ts
 * const channel = new CommandChannel({ protocol: "ipc" });
 * const { command, control } = await channel.open();
 * channel.listen(onControl, onOutput);
 * await channel.send([encodeCommand(CONTROL_TOPIC, { kind: "quit" })]);
 * channel.close();
 * ```
 */
export class CommandChannel {
  /** CURVE keys and ZAP domain shared with the node processes (TCP with CURVE only). */
  readonly curve: NodeRunnerConfig["curve"];
  private readonly tcp: boolean;
  private readonly host: string;
  private readonly cmd = new zmq.XPublisher({ verbosity: "allSubs", linger: 0 });
  private readonly writer = new SocketWriter(this.cmd, { label: "tube commands" });
  private readonly control = new zmq.Pull({ linger: 0 });
  private readonly events = new zmq.Subscriber({ linger: 0 });
  private releaseZap: (() => void) | undefined;
  /** Endpoints whose ipc socket files are removed on close. */
  private readonly endpoints: string[] = [];

  constructor(options: CommandChannelOptions) {
    this.tcp = options.protocol === "tcp";
    this.host = options.host ?? "127.0.0.1";
    const keys = this.tcp && options.curve !== false ? generateCurveKeyPair() : undefined;
    this.curve = keys ? { ...keys, domain: `weft.tube.${randomUUID()}` } : undefined;
  }

  /** A fresh endpoint to bind on: an ipc socket file, or a loopback TCP port. */
  bindFor(label: string): string {
    return this.tcp ? bindEndpoint({ protocol: "tcp", host: this.host }) : newIpcEndpoint(label);
  }

  /** Binds the command and control sockets; resolves to their endpoints, for the node configurations. */
  async open(): Promise<{ command: string; control: string }> {
    const curve = this.curve;
    if (curve) {
      this.releaseZap = await registerZapDomain(curve.domain, [curve.publicKey]);
      applyCurveServer(this.cmd, curve, curve.domain);
      applyCurveServer(this.control, curve, curve.domain);
      applyCurveClient(this.events, curve, curve.publicKey);
    }
    await this.cmd.bind(this.bindFor("tube-cmd"));
    await this.control.bind(this.bindFor("tube-ctl"));
    const command = this.cmd.lastEndpoint!;
    const control = this.control.lastEndpoint!;
    this.endpoints.push(command, control);
    this.events.subscribe(CALLER_TOPIC);
    return { command, control };
  }

  /** Reads the control and event sockets until closed, decoding each message for its handler. */
  listen(onControl: (m: ControlMessage) => void, onOutput: (out: NodeOutput) => void): void {
    void readLoop(this.control, (frames) => onControl(unpackSmall(frames[0]!) as ControlMessage));
    void readLoop(this.events, (frames) => onOutput(decodeOutput(frames)));
  }

  /** Connects the event socket to every node's event endpoint. */
  connectEvents(endpoints: Iterable<string>): void {
    for (const endpoint of endpoints) {
      this.events.connect(endpoint);
      if (endpoint.startsWith("ipc://")) this.endpoints.push(endpoint);
    }
  }

  /**
   * Subscription barrier: resolves once `nodes` processes have subscribed to the command socket (a
   * command sent before would be lost to them), or rejects with `timeout`.
   */
  async awaitSubscribers(nodes: number, timeout: Promise<never>): Promise<void> {
    let subs = 0;
    const cmd = this.cmd;
    await Promise.race([
      (async () => {
        while (subs < nodes) {
          const [frame] = await cmd.receive();
          // Every node subscribes to the process topic (if it needs it) before the control topic.
          if (frame?.[0] === 1 && frame[1] === CONTROL_TOPIC[0]) subs++;
        }
      })(),
      timeout,
    ]);
    // Keep draining (un)subscription notices so the XPUB never holds them.
    void readLoop(cmd, () => {});
  }

  /** Sends one command, in order with the commands sent before it. */
  send(frames: Frames): Promise<void> {
    return this.writer.send(frames);
  }

  /** Releases the ZAP domain, closes every socket and removes the ipc socket files. */
  close(): void {
    this.releaseZap?.();
    this.releaseZap = undefined;
    this.writer.close();
    for (const s of [this.cmd, this.control, this.events]) s.close();
    for (const e of this.endpoints) removeIpcFile(e);
  }
}
