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
  "process" | "run" | "iter" | "stop" | "addCallback" | "deinit"
> &
  Partial<Pick<InProcessRunner, "enableNode" | "disableNode">>;

export interface RunnerKind {
  name: string;
  /** True for runners that run nodes in other processes (some cases only apply in-process). */
  remote: boolean;
  make(tube: Tube): AnyRunner;
}

/** Node processes shared by the ZMQ cases of one test file (start-up is the dominant cost). */
export const zmqPool = new NodeProcessPool();

export const RUNNER_KINDS: RunnerKind[] = [
  { name: "sync", remote: false, make: (tube) => new SynchronousRunner(tube) },
  { name: "async", remote: false, make: (tube) => new AsyncRunner(tube) },
  { name: "zmq", remote: true, make: (tube) => new ZMQRunner(tube, { pool: zmqPool }) },
];

export const FIXTURES = new URL("../fixtures/tube/", import.meta.url).pathname;
