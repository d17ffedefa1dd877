import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../../src/core/errors.ts";
import { jobContextFromEnv } from "../../../src/launch/context.ts";
import { JOB_ENV } from "../../../src/launch/env.ts";

const env = {
  [JOB_ENV.group]: `ctx-${process.pid}-${Date.now()}`,
  [JOB_ENV.type]: "actor",
  [JOB_ENV.name]: "actor.1",
  [JOB_ENV.index]: "1",
  [JOB_ENV.restartCount]: "2",
  [JOB_ENV.discovery]: "local",
  [JOB_ENV.components]: JSON.stringify({ learner: 1, actor: 2 }),
  [JOB_ENV.args]: JSON.stringify(["--seed", "3"]),
};

void describe("JobContext", () => {
  void it("reads the job facts from the environment", () => {
    const ctx = jobContextFromEnv(env);
    assert.equal(ctx.name, "actor.1");
    assert.equal(ctx.type, "actor");
    assert.equal(ctx.index, 1);
    assert.equal(ctx.restartCount, 2);
    assert.deepEqual(ctx.args, ["--seed", "3"]);
    assert.deepEqual(ctx.peerNames("actor"), ["actor.0", "actor.1"]);
    assert.deepEqual(ctx.peerNames("critic"), []);
    assert.equal(ctx.signal.aborted, false);
  });

  void it("says how to start the program when the launcher's variables are missing", () => {
    assert.throws(
      () => jobContextFromEnv({}),
      (e: unknown) => e instanceof ConfigError && /WEFT_GROUP.*weft launch/.test(e.message),
    );
    assert.throws(() => jobContextFromEnv({ ...env, [JOB_ENV.components]: "{" }), ConfigError);
  });

  void it("creates proxies with the job's group and name, expecting every other process by default", async () => {
    const seen: string[] = [];
    const hooks = { onProxy: (p: { name: string }) => seen.push(p.name) };
    const a = jobContextFromEnv(
      { ...env, [JOB_ENV.components]: JSON.stringify({ actor: 2 }) },
      undefined,
      hooks,
    );
    const b = jobContextFromEnv(
      {
        ...env,
        [JOB_ENV.name]: "actor.0",
        [JOB_ENV.index]: "0",
        [JOB_ENV.components]: JSON.stringify({ actor: 2 }),
      },
      undefined,
      hooks,
    );
    const [pa, pb] = await Promise.all([a.createProxy(), b.createProxy()]);
    try {
      assert.equal(pa.groupName, env[JOB_ENV.group]);
      assert.deepEqual(pa.peersName, { actor: ["actor.0"] });
      assert.deepEqual(pb.peersName, { actor: ["actor.1"] });
      assert.deepEqual(seen.sort(), ["actor.0", "actor.1"]);
    } finally {
      await Promise.all([pa.close(), pb.close()]);
    }
  });
});
