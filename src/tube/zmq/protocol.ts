/**
 * Messages between the ZMQRunner's command node (in the caller) and its node runners (one child process
 * per node). Every control frame is msgpack (`packSmall`); node outputs use `packValue` so typed arrays
 * travel as their own frames.
 * @module
 */
import { packSmall, packValue, unpackSmall, unpackValue } from "../../core/codec.ts";
import { DecodeError } from "../../core/errors.ts";
import type { NodeMetrics } from "../metrics.ts";

/** Configuration a node runner receives from its caller (over the child's IPC channel). */
export interface NodeRunnerConfig {
  /** Spec file path, or the inline spec object. */
  spec: string | Record<string, unknown>;
  baseDir: string;
  /** Tube-scoped inputs. */
  input: Record<string, unknown>;
  nodeId: string;
  /** Where this node binds its event XPUB: an `ipc://` endpoint or `tcp://host:0`. */
  bind: string;
  /** Command endpoint (XPUB in the caller). */
  command: string;
  /** Control endpoint (PULL in the caller). */
  control: string;
  /** Subscribers this node waits for before reporting ready (its dependents plus the command node). */
  subscribers: number;
  /** Stateless nodes run at most this many epochs at once (they may run ahead). */
  concurrency: number;
  /** Whether the node runs (the spec's `enabled`, or the runner's `enableNode` / `disableNode`). */
  enabled: boolean;
  /** True when the process returns to a `NodeProcessPool` after `quit` instead of exiting. */
  pooled: boolean;
  /**
   * True when the caller needs every output of this node (the return node reads it, nothing downstream
   * reports for it, or the tube has maps); otherwise its outputs go to its dependents only, except in
   * epochs whose events the caller reports to callbacks.
   */
  toCaller: boolean;
  /** Measure call durations (the runner's `metrics` option). */
  metrics: boolean;
  /** CURVE key pair shared by the tube's processes (TCP only): every socket is server or client with it. */
  curve?: { publicKey: string; secretKey: string; domain: string };
}

/** Caller → node runner messages over the child's IPC channel (setup only; never per epoch). */
export type SetupMessage =
  { kind: "start"; config: NodeRunnerConfig } | { kind: "peers"; endpoints: Record<string, string> };

/** Node runner → caller messages over the child's IPC channel. */
export type SetupReply = { kind: "bound"; nodeId: string; endpoint: string } | { kind: "idle" };

/**
 * Counters a node reports on a `status` command (monitoring and tests).
 * @example
 * ```ts
 * for (const s of await runner.nodeStatus()) console.log(s.nodeId, s.processed, s.pending, s.running);
 * ```
 */
export interface NodeStatus {
  nodeId: string;
  /** Epochs this node has run (or skipped) so far. */
  processed: number;
  /** Epochs whose command or upstream outputs are held in the node's store, not yet run. */
  pending: number;
  /** Epochs running right now. */
  running: number;
  /** Subscribers connected to this node's events (dependents plus the command node). */
  subscribers: number;
  /** Order in which epochs were started (last 256), to check stateful ordering. */
  order: number[];
  /** Calls, errors, cancellations and (with `metrics: true`) call durations. */
  metrics: NodeMetrics;
}

/** Node → command node messages (over PUSH/PULL). */
export type ControlMessage =
  | { kind: "ready"; nodeId: string; pid: number }
  | { kind: "error"; nodeId: string; epoch: number; name: string; message: string; stack: string }
  | ({ kind: "status"; request: number } & NodeStatus)
  | { kind: "enabled"; request: number; nodeId: string };

/**
 * Output of one node for one (sub-)epoch: the signals it emitted (absent = NoEvent). A node sends exactly
 * one output per sub-epoch it runs in (also when it is cancelled or fails), so receivers can tell when a
 * root epoch is complete.
 */
export interface NodeOutput {
  nodeId: string;
  /** Root epoch. */
  epoch: number;
  /** Map item indices of the sub-epoch, one per map enclosing the node (empty for a root epoch). */
  path: readonly number[];
  exhausted: boolean;
  signals: Record<string, unknown>;
  /**
   * Set when the node threw in this sub-epoch, or when an output it consumed carried an error: errors
   * travel downstream with the outputs, so the caller learns of a failure from whichever output completes
   * the epoch, on the same ordered channel. Names the node that threw and its sub-epoch (`at`).
   */
  error?: OutputError;
  /** True in epochs whose every event the caller reports to callbacks (set on the command, passed on). */
  report?: boolean;
}

/** A node failure carried in outputs. */
export interface OutputError {
  nodeId: string;
  /** Epoch key of the failed call, e.g. `"4"` or `"4/m:2"`. */
  at: string;
  name: string;
  message: string;
  stack: string;
}

/** Topic byte of outputs the caller subscribes to (its own SUB filters on it). */
export const CALLER_TOPIC = Buffer.from([1]);
/** Topic byte of outputs for the node's dependents only. */
export const DEPENDENTS_TOPIC = Buffer.from([0]);

/**
 * Encodes a node output as frames: `[topic byte + body, ...attachments]`, where the body is
 * `[nodeId, epoch, exhausted, error, path, report, signals]` (`packValue`, so typed arrays in the signals
 * travel as their own frames). The topic byte is {@link CALLER_TOPIC} when the caller should get the
 * output, else {@link DEPENDENTS_TOPIC}. One frame for a small output: ZeroMQ's cost is per frame.
 */
export function encodeOutput(out: NodeOutput, toCaller = true): Uint8Array[] {
  const { body, attachments } = packValue([
    out.nodeId,
    out.epoch,
    out.exhausted,
    out.error ?? null,
    out.path.length > 0 ? out.path : null,
    out.report === true,
    out.signals,
  ]);
  return [withTopic(toCaller ? CALLER_TOPIC : DEPENDENTS_TOPIC, body), ...attachments];
}

/** Decodes {@link encodeOutput}'s frames; malformed input raises DecodeError. */
export function decodeOutput(frames: Uint8Array[]): NodeOutput {
  const first = frames[0] ?? new Uint8Array();
  const v = unpackValue(first.subarray(1), frames.slice(1)) as unknown;
  if (!Array.isArray(v) || v.length !== 7 || typeof v[0] !== "string" || typeof v[1] !== "number") {
    throw new DecodeError("tube output is not [nodeId, epoch, exhausted, error, path, report, signals]");
  }
  const path = v[4] ?? [];
  if (!Array.isArray(path) || !path.every((i) => typeof i === "number")) {
    throw new DecodeError("tube output item path is not a list of indices");
  }
  const error = v[3] as NodeOutput["error"] | null | undefined;
  return {
    nodeId: v[0],
    epoch: v[1],
    path: path as number[],
    exhausted: v[2] === true,
    signals: (v[6] ?? {}) as Record<string, unknown>,
    ...(error ? { error } : {}),
    ...(v[5] === true ? { report: true } : {}),
  };
}

function withTopic(topic: Buffer, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(body.length + topic.length);
  out.set(topic, 0);
  out.set(body, topic.length);
  return out;
}

/** One command frame: its topic byte, then the msgpack command. */
export function encodeCommand(topic: Buffer, command: Command): Buffer {
  return withTopic(topic, packSmall(command));
}

/** Decodes {@link encodeCommand}'s frame; malformed input raises DecodeError. */
export function decodeCommand(frame: Uint8Array): Command {
  return unpackSmall(frame.subarray(1)) as Command;
}

/**
 * Topic byte of per-epoch `process` commands. Only nodes that need an epoch's command subscribe to it
 * (sources and nodes with input dependencies); the others start an epoch when their upstream outputs
 * arrive, which saves a delivery per node per epoch.
 */
export const PROCESS_TOPIC = Buffer.from("p");
/** Topic byte of `status` and `quit`, which every node subscribes to. */
export const CONTROL_TOPIC = Buffer.from("c");

/** Command node → node runners (over XPUB/SUB, one frame: {@link encodeCommand}). */
export type Command =
  | { kind: "process"; epoch: number; inputs: Record<string, unknown>; report?: boolean }
  | { kind: "status"; request: number }
  | { kind: "enable"; nodeId: string; enabled: boolean; request: number }
  | { kind: "quit" };

export { packSmall, unpackSmall };
