// noob's runner behaviours, run against the ZMQRunner (one process per node). The cases share a pool of warm node processes (one tube per runner each).
import { after, describe, it } from "node:test";
import { runTable } from "../../helpers/tube-cases.ts";
import { RUNNER_KINDS, zmqPool } from "../../helpers/tube-runners.ts";

for (const kind of RUNNER_KINDS.filter((k) => k.remote)) runTable(kind, describe, it);

zmqPool.prewarm(5);
after(() => zmqPool.close());
