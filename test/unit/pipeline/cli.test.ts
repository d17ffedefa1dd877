import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePipelineArgs } from "../../../src/cli/pipeline.ts";
import { generateCurveKeyPair, writeCurveKeyFile } from "../../../src/transport/curve.ts";

void test("weft pipeline arguments become runner options", () => {
  const { entry, options } = parsePipelineArgs(
    [
      "--main",
      "./job.ts",
      "--parallel-workers",
      "4",
      "--protocol",
      "tcp",
      "--ports",
      "50600",
      "--labels",
      "a,b",
      "--auto-recover",
    ],
    {},
  );
  assert.equal(entry, "./job.ts#main");
  assert.deepEqual(options, {
    protocol: "tcp",
    topology: "mesh",
    nParallelWorkers: 4,
    ports: 50600,
    labels: ["a", "b"],
    autoRecover: true,
  });
});

void test("node id comes from the Slurm rank when --node-ids is absent", () => {
  const env = { SLURM_PROCID: "2", SLURM_NTASKS: "3", SLURM_NODELIST: "n[1-3]" };
  assert.equal(parsePipelineArgs(["--main", "j.ts#m"], env).options.nodeIds, 2);
  assert.equal(parsePipelineArgs(["--main", "j.ts#m", "--node-ids", "0"], env).options.nodeIds, 0);
});

void test("bad arguments are BadRequestErrors", () => {
  assert.throws(() => parsePipelineArgs([], {}), { code: "WEFT_ERR_BAD_REQUEST" });
  assert.throws(() => parsePipelineArgs(["--main", "x", "--parallel-workers", "two"], {}), /non-negative/);
  assert.throws(() => parsePipelineArgs(["--main", "x", "--bogus"], {}), /bogus/);
});

void test("star/alone topologies, --attach-to and --redis-url become runner options", () => {
  const { options } = parsePipelineArgs(
    [
      "--main",
      "j.ts",
      "--topology",
      "alone",
      "--attach-to",
      "tcp://10.0.0.1:50515,tcp://10.0.0.1:50516",
      "--redis-url",
      "redis://r:6379",
      "--job-id",
      "exp1",
    ],
    {},
  );
  assert.equal(options.topology, "alone");
  assert.deepEqual(options.attachTo, ["tcp://10.0.0.1:50515", "tcp://10.0.0.1:50516"]);
  assert.equal(options.redisUrl, "redis://r:6379");
  assert.equal(options.jobId, "exp1");
  assert.throws(() => parsePipelineArgs(["--main", "j", "--attach-to", "10.0.0.1:1"], {}), /tcp:\/\//);
  assert.throws(() => parsePipelineArgs(["--main", "j", "--redis-url", "redis://r"], {}), /--job-id/);
  assert.throws(() => parsePipelineArgs(["--main", "j", "--topology", "ring"], {}), /mesh, star or alone/);
});

void test("a WEFT_NODES / Slurm environment becomes a tcp mesh over the listed hosts", () => {
  const { options } = parsePipelineArgs(["--main", "j.ts"], { WEFT_NODES: "h0,h1,h2", WEFT_RANK: "2" });
  assert.equal(options.nodeIds, 2);
  assert.equal(options.nParallelWorkers, 1);
  assert.equal(options.protocol, "tcp");
  assert.deepEqual(options.nodeAddresses, ["h0", "h1", "h2"]);
  assert.equal(options.bindAddress, "0.0.0.0");
  const slurm = parsePipelineArgs(["--main", "j.ts"], {
    SLURM_PROCID: "1",
    SLURM_NTASKS: "2",
    SLURM_NODELIST: "gpu[1-2]",
    SLURM_JOB_ID: "77",
  }).options;
  assert.deepEqual(slurm.nodeAddresses, ["gpu1", "gpu2"]);
  assert.equal(slurm.jobId, "slurm-77");
  assert.throws(() => parsePipelineArgs(["--main", "j"], { WEFT_NODES: "a" }), {
    code: "WEFT_ERR_BAD_REQUEST",
  });
});

void test("--curve-key-file loads the job's key pair for tcp links; ipc or a bad file is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-cli-curve-"));
  try {
    const file = join(dir, "job.key");
    const keys = generateCurveKeyPair();
    writeCurveKeyFile(file, keys);
    const { options } = parsePipelineArgs(
      ["--main", "j.ts", "--protocol", "tcp", "--curve-key-file", file],
      {},
    );
    assert.deepEqual(options.curve, keys);
    assert.throws(() => parsePipelineArgs(["--main", "j.ts", "--curve-key-file", file], {}), {
      code: "WEFT_ERR_BAD_REQUEST",
      message: /needs --protocol tcp/,
    });
    writeFileSync(join(dir, "bad.key"), JSON.stringify({ publicKey: "short", secretKey: "short" }));
    assert.throws(
      () =>
        parsePipelineArgs(
          ["--main", "j.ts", "--protocol", "tcp", "--curve-key-file", join(dir, "bad.key")],
          {},
        ),
      { code: "WEFT_ERR_BAD_REQUEST", message: /--curve-key-file: .*40-character Z85 CURVE key/ },
    );
    assert.throws(
      () =>
        parsePipelineArgs(["--main", "j.ts", "--protocol", "tcp", "--curve-key-file", join(dir, "none")], {}),
      { code: "WEFT_ERR_BAD_REQUEST", message: /cannot read CURVE key file/ },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
