// noob's runner behaviours, run against the in-process runners.
import { describe, it } from "node:test";
import { runTable } from "../../helpers/tube-cases.ts";
import { RUNNER_KINDS } from "../../helpers/tube-runners.ts";

for (const kind of RUNNER_KINDS.filter((k) => !k.remote)) runTable(kind, describe, it);
