/**
 * tube: YAML dataflow graphs run in-process (sync or async).
 * @module
 */
export { Epoch, type EpochSegment, type EpochWire } from "./epoch.ts";
export { NoEvent, MetaSignal, META_NODE_ID, makeEvent, type TubeEvent, type TubeCallback } from "./events.ts";
export { EventStore } from "./store.ts";
export { Node, Exhausted, type NodeContext, type NodeOptions, type NodeRuntime } from "./node.ts";
export {
  loadSpec,
  parseSource,
  RESERVED_IDS,
  BUILTIN_TYPES,
  type TubeSpec,
  type NodeSpec,
  type InputSpec,
  type AssetSpec,
  type DependSpec,
  type SourceRef,
  type LoadSpecOptions,
} from "./spec.ts";
export { analyseGraph, type GraphInfo } from "./graph.ts";
export { Tube, type TubeOptions } from "./tube.ts";
export { EpochExecutor, type EpochResult } from "./scheduler.ts";
export { InProcessRunner, type RunnerOptions } from "./runners/base.ts";
export {
  NodeMetricsRecorder,
  DURATION_BUCKETS_MS,
  durationQuantile,
  type NodeMetrics,
  type DurationHistogram,
} from "./metrics.ts";
export { SynchronousRunner } from "./runners/sync.ts";
export { AsyncRunner, type AsyncRunnerOptions } from "./runners/async.ts";
export { renderGenerations, renderMermaid, renderDot } from "./render.ts";
export { ZMQRunner, type ZMQRunnerOptions } from "./zmq/runner.ts";
export { NodeProcessPool } from "./zmq/pool.ts";
export type { NodeStatus } from "./zmq/protocol.ts";
