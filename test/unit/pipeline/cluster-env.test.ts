import { test } from "node:test";
import assert from "node:assert/strict";
import { endpointOf, expandSlurmNodelist, peersOf, placementFromEnv } from "../../../src/pipeline/index.ts";

void test("Slurm node lists expand", () => {
  assert.deepEqual(expandSlurmNodelist("gpu[01-03,7],cpu5"), ["gpu01", "gpu02", "gpu03", "gpu7", "cpu5"]);
  assert.deepEqual(expandSlurmNodelist("single"), ["single"]);
  assert.throws(() => expandSlurmNodelist("n[a-b]"), { code: "WEFT_ERR_CONFIG" });
});

void test("placement from a Slurm environment", () => {
  const p = placementFromEnv({ SLURM_PROCID: "3", SLURM_NTASKS: "4", SLURM_NODELIST: "n[1-2]" });
  assert.deepEqual(p, { rank: 3, worldSize: 4, hosts: ["n1", "n1", "n2", "n2"], source: "slurm" });
  assert.throws(() => placementFromEnv({ SLURM_PROCID: "4", SLURM_NTASKS: "4", SLURM_NODELIST: "n1" }), {
    code: "WEFT_ERR_CONFIG",
  });
});

void test("placement from WEFT_NODES / WEFT_RANK, and none", () => {
  assert.deepEqual(placementFromEnv({ WEFT_NODES: "a, b,c", WEFT_RANK: "1" }), {
    rank: 1,
    worldSize: 3,
    hosts: ["a", "b", "c"],
    source: "weft",
  });
  assert.throws(() => placementFromEnv({ WEFT_NODES: "a" }), /WEFT_RANK/);
  assert.throws(() => placementFromEnv({ WEFT_NODES: "a", WEFT_RANK: "x" }), { code: "WEFT_ERR_CONFIG" });
  assert.equal(placementFromEnv({}), undefined);
});

void test("endpoints and dialed peers per topology, from a placement's host list", () => {
  const hosts = placementFromEnv({ WEFT_NODES: "a,b,c", WEFT_RANK: "0" })?.hosts ?? [];
  const opts = { protocol: "tcp" as const, ports: 6000, nodeAddresses: hosts };
  assert.deepEqual(
    [0, 1, 2].map((i) => endpointOf(opts, i)),
    ["tcp://a:6000", "tcp://b:6001", "tcp://c:6002"],
  );
  assert.deepEqual(peersOf({ size: 3 }, 1), [0, 2]);
  assert.deepEqual(peersOf({ size: 3, topology: "star" }, 0), [1, 2]);
  assert.deepEqual(peersOf({ size: 3, topology: "star" }, 2), [0]);
  assert.deepEqual(peersOf({ size: 2, topology: "star", firstNodeId: 4 }, 5), [4]);
  assert.deepEqual(peersOf({ size: 3, topology: "alone" }, 1), []);
  assert.throws(() => endpointOf({ protocol: "ipc" }, 0), { code: "WEFT_ERR_CONFIG" });
  assert.throws(() => endpointOf({ protocol: "tcp", ports: 65535 }, 1), /port/);
});
