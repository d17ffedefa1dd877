// The runner kinds the tube behaviour table runs against.
import {
  AsyncRunner,
  NodeProcessPool,
  SynchronousRunner,
  ZMQRunner,
  type InProcessRunner,
  type Tube,
} from "../../src/tube/index.ts";

/** What the behaviour table uses of a runner (shared by every runner kind). */
export type AnyRunner = Pick<
  InProcessRunner,
  "process" | "run" | "iter" | "stop" | "addCallback" | "deinit" | "nodeMetrics"
> &
  Partial<Pick<InProcessRunner, "enableNode" | "disableNode">>;

export interface RunnerKind {
  name: string;
  /** True for runners that run nodes in other processes (some cases only apply in-process). */
  remote: boolean;
  make(tube: Tube, options?: { metrics?: boolean }): AnyRunner;
}

/** Node processes shared by the ZMQ cases of one test file (start-up is the dominant cost). */
export const zmqPool = new NodeProcessPool();

export const RUNNER_KINDS: RunnerKind[] = [
  { name: "sync", remote: false, make: (tube, o = {}) => new SynchronousRunner(tube, o) },
  { name: "async", remote: false, make: (tube, o = {}) => new AsyncRunner(tube, o) },
  { name: "zmq", remote: true, make: (tube, o = {}) => new ZMQRunner(tube, { pool: zmqPool, ...o }) },
];

export const FIXTURES = new URL("../fixtures/tube/", import.meta.url).pathname;
