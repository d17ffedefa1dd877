import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisConnectionError } from "../../../src/core/errors.ts";
import { DummyLogger } from "../../../src/core/logger.ts";
import { SessionType } from "../../../src/core/message.ts";
import { Proxy } from "../../../src/proxy/index.ts";
import { createGroup, serve } from "../../helpers/proxy-group.ts";
import { freePort, uniqueName, waitFor } from "../../helpers/proxy-util.ts";

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const probe = new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: 1,
  });
  probe.on("error", () => {});
  try {
    await waitFor(
      async () => {
        try {
          return (await probe.ping()) === "PONG";
        } catch {
          return false;
        }
      },
      10_000,
      `redis-server on port ${port}`,
    );
  } finally {
    probe.disconnect();
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

void describe("Proxy with Redis trouble", () => {
  void it("Redis down at create → RedisConnectionError (1001)", async () => {
    const port = await freePort();
    await assert.rejects(
      Proxy.create({
        groupName: uniqueName("noredis"),
        componentType: "master",
        expectedPeers: { worker: 1 },
        discovery: { type: "redis", url: `redis://127.0.0.1:${port}`, connectRetries: 2 },
        logger: new DummyLogger(),
      }),
      (e: unknown) => e instanceof RedisConnectionError && e.errorCode === 1001,
    );
  });

  void it("Redis restarted mid-run: messaging continues and a new member can still join", async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const discovery = { type: "redis" as const, url: `redis://127.0.0.1:${port}`, heartbeatMs: 200 };
    let g: Awaited<ReturnType<typeof createGroup>> | undefined;
    let late: Proxy | undefined;
    try {
      g = await createGroup(1, { master: { discovery }, worker: { discovery } });
      const sum = async (dest: string, a: number) =>
        (await g!.master.scatter("sum", SessionType.TASK, [[dest, [a, 1]]], { timeoutMs: 5000 }))[0]?.payload;
      assert.equal(await sum("worker.0", 1), 2);

      await stop(redis);
      // Messages travel peer to peer: Redis being down does not stop them.
      assert.equal(await sum("worker.0", 2), 3);

      redis = await startRedis(port); // empty: it lost every key
      // A new member joins through the restarted Redis once the others have re-registered.
      late = await Proxy.create({
        groupName: g.group,
        componentType: "worker",
        componentName: "worker.late",
        expectedPeers: { master: 1 },
        discovery,
        logger: new DummyLogger(),
      });
      void serve(late);
      await waitFor(
        () => g!.master.peersName.worker?.includes("worker.late") === true,
        10_000,
        "the master to see the late worker",
      );
      // Give the watchers a few heartbeats after the restart: no live peer may be declared dead.
      const until = Date.now() + 1000;
      await waitFor(() => Date.now() > until, 2000, "a few heartbeats");
      assert.deepEqual(g.master.peersName.worker, ["worker.0", "worker.late"]);
      assert.equal(await sum("worker.0", 3), 4);
      assert.equal(await sum("worker.late", 4), 5);
    } finally {
      await late?.close();
      await g?.close();
      await stop(redis);
    }
  });
});
