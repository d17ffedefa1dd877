import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisConnectionError } from "../../../src/core/errors.ts";
import { newId } from "../../../src/core/ids.ts";
import { createRegistry } from "../../../src/discovery/create-registry.ts";
import { RedisRegistry } from "../../../src/discovery/redis-registry.ts";
import type { MemberInfo } from "../../../src/discovery/registry.ts";
import { REDIS_URL, WorkerProcess, freePort, uniqueName, waitFor } from "../../helpers/proxy-util.ts";

const admin = new Redis(REDIS_URL);
after(() => admin.disconnect());

function member(group: string, name: string): MemberInfo {
  return {
    group,
    type: name.split(".")[0] ?? name,
    name,
    addresses: { unicast: "tcp://127.0.0.1:1" },
    pid: process.pid,
    host: hostname(),
    meta: { k: 1 },
    incarnation: newId(),
  };
}

void describe("RedisRegistry", () => {
  void it("registers, lists, watches and cleans its keys on close", async () => {
    const keyPrefix = `${uniqueName("weft-test")}:`;
    const a = await RedisRegistry.connect({ url: REDIS_URL, keyPrefix, heartbeatMs: 100 });
    const b = await RedisRegistry.connect({ url: REDIS_URL, keyPrefix, heartbeatMs: 100 });
    const events: string[] = [];
    const stop = a.watch("g", (e) => events.push(`${e.kind} ${e.member.name}`));
    try {
      const w = member("g", "worker.0");
      await a.register(member("g", "master.0"));
      await b.register(w);
      const listed = await a.list("g");
      assert.deepEqual(
        listed.map((m) => m.name),
        ["master.0", "worker.0"],
      );
      assert.deepEqual(listed[1]?.meta, { k: 1 });
      assert.equal(await a.isAlive(w), true);
      await waitFor(() => events.includes("join worker.0"), 3000, "join event");
      await b.close();
      await waitFor(() => events.includes("leave worker.0"), 3000, "leave event");
      assert.equal(await a.isAlive(w), false);
      assert.deepEqual(
        (await a.list("g")).map((m) => m.name),
        ["master.0"],
      );
    } finally {
      stop();
      await b.close();
      await a.close();
    }
    assert.deepEqual(await admin.keys(`${keyPrefix}*`), [], "no key is left behind after close");
  });

  void it("a SIGKILLed member disappears within 3 × heartbeatMs", async () => {
    const keyPrefix = `${uniqueName("weft-test")}:`;
    const group = uniqueName("kill");
    const heartbeatMs = 200;
    const reg = await RedisRegistry.connect({ url: REDIS_URL, keyPrefix, heartbeatMs });
    const leaves: number[] = [];
    const stop = reg.watch(group, (e) => {
      if (e.kind === "leave" && e.member.name === "worker.k") leaves.push(Date.now());
    });
    const worker = new WorkerProcess({
      groupName: group,
      componentType: "worker",
      componentName: "worker.k",
      expectedPeers: { master: 1 },
      maxRetries: 1000,
      retryIntervalBaseMs: 1000,
      discovery: { type: "redis", url: REDIS_URL, keyPrefix, heartbeatMs },
    });
    try {
      await waitFor(
        async () => (await reg.list(group)).some((m) => m.name === "worker.k"),
        20_000,
        "the child to register",
      );
      const killedAt = Date.now();
      await worker.kill("SIGKILL");
      await waitFor(
        async () => !(await reg.list(group)).some((m) => m.name === "worker.k"),
        3 * heartbeatMs + 500,
        "the killed member to expire",
      );
      const gone = Date.now() - killedAt;
      assert.ok(gone <= 3 * heartbeatMs + 100, `listed for ${gone} ms after SIGKILL`);
      await waitFor(() => leaves.length > 0, 2 * heartbeatMs, "the leave event");
      // Its hash field is removed too (by the lists above), and the types set with the last member.
      await waitFor(
        async () => (await admin.hexists(`${keyPrefix}${group}:worker`, "worker.k")) === 0,
        2000,
        "the dead member's hash entry to be removed",
      );
      assert.deepEqual(await admin.smembers(`${keyPrefix}${group}:types`), []);
    } finally {
      stop();
      await worker.kill();
      await reg.close();
    }
  });

  void it("rejects with RedisConnectionError (1001) when Redis is unreachable", async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(
      createRegistry({ type: "redis", url: `redis://127.0.0.1:${port}`, connectRetries: 2 }),
      (e: unknown) =>
        e instanceof RedisConnectionError && e.errorCode === 1001 && e.message.includes(String(port)),
    );
    assert.ok(Date.now() - started < 10_000);
  });
});
