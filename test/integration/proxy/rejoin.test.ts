import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeersDisconnectionError } from "../../../src/core/errors.ts";
import { DummyLogger } from "../../../src/core/logger.ts";
import { Message, SessionType } from "../../../src/core/message.ts";
import { Proxy, type ProxyOptions } from "../../../src/proxy/index.ts";
import { serve } from "../../helpers/proxy-group.ts";
import { REDIS_URL, WorkerProcess, uniqueName, waitFor } from "../../helpers/proxy-util.ts";

const HEARTBEAT_MS = 200;

type Discovery = NonNullable<ProxyOptions["discovery"]>;

function workerOptions(
  group: string,
  name: string,
  discovery: Discovery = { type: "local", heartbeatMs: HEARTBEAT_MS },
): Omit<ProxyOptions, "logger"> {
  return {
    groupName: group,
    componentType: "worker",
    componentName: name,
    expectedPeers: { master: 1 },
    discovery,
  };
}

/** A master expecting 2 workers and an in-process worker.0 that answers (worker.1 is a child process). */
async function masterAndWorker0(
  group: string,
  discovery: Discovery,
  masterOptions: Partial<ProxyOptions> = {},
): Promise<[Proxy, Proxy]> {
  const [master, w0] = await Promise.all([
    Proxy.create({
      groupName: group,
      componentType: "master",
      componentName: "master",
      expectedPeers: { worker: 2 },
      discovery,
      logger: new DummyLogger(),
      ...masterOptions,
    }),
    Proxy.create({ ...workerOptions(group, "worker.0", discovery), logger: new DummyLogger() }),
  ]);
  void serve(w0);
  return [master, w0];
}

void describe("Proxy failures and rejoin", () => {
  void it("rejoin: a worker leaves, scatter returns the others, the restarted worker gets its cached message first", async () => {
    const group = uniqueName("rejoin");
    const discovery = { type: "local" as const, heartbeatMs: HEARTBEAT_MS };
    const children: WorkerProcess[] = [];
    const inproc: Proxy[] = [];
    let master: Proxy | undefined;
    try {
      children.push(new WorkerProcess(workerOptions(group, "worker.2")));
      const made = await Promise.all([
        Proxy.create({
          groupName: group,
          componentType: "master",
          componentName: "master",
          expectedPeers: { worker: 3 },
          discovery,
          enableRejoin: true,
          enableMessageCacheForRejoin: true,
          logger: new DummyLogger(),
        }),
        ...[0, 1].map((i) =>
          Proxy.create({ ...workerOptions(group, `worker.${i}`), logger: new DummyLogger() }),
        ),
      ]);
      master = made[0];
      inproc.push(...made.slice(1));
      for (const w of inproc) void serve(w);
      await children[0]!.ready();
      const pairs = [0, 1, 2].map((i): [string, unknown] => [`worker.${i}`, [i, 100]]);

      const all = await master.scatter("sum", SessionType.TASK, pairs, { timeoutMs: 10_000 });
      assert.deepEqual(all.map((r) => r.source).sort(), ["worker.0", "worker.1", "worker.2"]);

      // worker.2 leaves: on SIGTERM it closes its proxy (unregisters) and exits.
      await children[0]!.kill("SIGTERM");
      assert.equal(await children[0]!.exited, 0);
      await waitFor(() => master!.peersName.worker?.length === 2, 5000, "the master to see worker.2 leave");

      // Scatter to all 3: the 2 live workers answer, no error; worker.2's message is cached.
      const cachedPayload = [2, 7];
      const partial = await master.scatter(
        "sum",
        SessionType.TASK,
        [
          ["worker.0", [0, 1]],
          ["worker.1", [1, 1]],
          ["worker.2", cachedPayload],
        ],
        { timeoutMs: 10_000 },
      );
      assert.deepEqual(partial.map((r) => r.source).sort(), ["worker.0", "worker.1"]);
      assert.equal(master.getStats().cached, 1);

      // worker.2 restarts under its name: the cached message is delivered first and answered.
      const again = new WorkerProcess(workerOptions(group, "worker.2"));
      children.push(again);
      const reply = await master.receiveOnce({ timeoutMs: 20_000 });
      assert.equal(reply.source, "worker.2");
      assert.equal(reply.payload, 9);
      assert.equal(master.getStats().cached, 0);
      const firstGot = await again.waitLine((l) => l.startsWith("got "));
      assert.equal(firstGot, `got sum ${JSON.stringify(cachedPayload)}`);
      assert.deepEqual(master.peersName.worker, ["worker.0", "worker.1", "worker.2"]);
      const after = await master.scatter("sum", SessionType.TASK, [["worker.2", [5, 5]]], {
        timeoutMs: 10_000,
      });
      assert.equal(after[0]?.payload, 10);
      // Broadcasts reach the restarted worker too (its broadcast handshake is redone).
      const all3 = await master.broadcast("worker", "sum", SessionType.TASK, [1, 1], { timeoutMs: 10_000 });
      assert.deepEqual(all3.map((r) => r.source).sort(), ["worker.0", "worker.1", "worker.2"]);
    } finally {
      await master?.close();
      await Promise.all(inproc.map((p) => p.close()));
      await Promise.all(children.map((c) => c.kill()));
    }
  });

  void it("rejoin mode: a worker SIGKILLed during scatter → the scatter resolves with the other replies", async () => {
    const group = uniqueName("killrejoin");
    const child = new WorkerProcess(workerOptions(group, "worker.1"));
    let master: Proxy | undefined;
    let w0: Proxy | undefined;
    try {
      [master, w0] = await masterAndWorker0(
        group,
        { type: "local", heartbeatMs: HEARTBEAT_MS },
        { enableRejoin: true, enableMessageCacheForRejoin: true },
      );
      await child.ready();
      const ids = [
        ...(await master.iscatter("sum", SessionType.TASK, [["worker.0", [1, 1]]])),
        ...(await master.iscatter("hang", SessionType.TASK, [["worker.1", null]])),
      ];
      const call = master.receiveById(ids);
      await child.waitLine((l) => l === "got hang null");
      const killedAt = Date.now();
      await child.kill("SIGKILL");
      const replies = await call;
      assert.ok(Date.now() - killedAt < 2 * 3 * HEARTBEAT_MS);
      assert.deepEqual(
        replies.map((r) => [r.source, r.payload]),
        [["worker.0", 2]],
      );
      await waitFor(() => master!.peersName.worker?.length === 1, 5000, "the master to drop worker.1");
      // Later sends to the dead worker are cached, not errors.
      assert.deepEqual(await master.iscatter("sum", SessionType.TASK, [["worker.1", [3]]]), []);
      assert.equal(master.getStats().cached, 1);
    } finally {
      await master?.close();
      await w0?.close();
      await child.kill();
    }
  });

  for (const [call, rejoin] of [
    ["isend", true],
    ["isend", false],
    ["send", true],
    ["send", false],
  ] as const) {
    void it(`messages still queued (${call}) for a peer found dead are ${rejoin ? "cached for its rejoin, in order" : "rejected with PeersDisconnectionError"}, never lost with a socket error`, async () => {
      const group = uniqueName(`${call}${rejoin ? "queuedrejoin" : "queueddead"}`);
      const discovery = { type: "local" as const, heartbeatMs: HEARTBEAT_MS };
      // Small queues everywhere, so that most of a burst waits in the master's own queue for worker.1.
      const small = { driver: { highWaterMark: 2 }, maxInboxSize: 2 };
      const child = new WorkerProcess({ ...workerOptions(group, "worker.1", discovery), ...small });
      const children = [child];
      let master: Proxy | undefined;
      let w0: Proxy | undefined;
      try {
        [master, w0] = await masterAndWorker0(group, discovery, {
          ...small,
          enableRejoin: rejoin,
          enableMessageCacheForRejoin: rejoin,
          maxLengthForMessageCache: 1000,
        });
        await child.ready();
        await master.isend(new Message({ tag: "stall", source: "master", destination: "worker.1" }));
        await child.waitLine((l) => l.startsWith("got stall"));
        const big = (i: number): Uint8Array => new Uint8Array(256 * 1024).fill(i);
        const sends = Array.from({ length: 100 }, (_, i) => {
          const m = new Message({
            tag: "n",
            source: "master",
            destination: "worker.1",
            payload: [i, big(i)],
          });
          return call === "isend" ? master!.isend(m) : master!.send(m);
        });
        await child.kill("SIGKILL");
        const settled = await Promise.allSettled<string[] | Message[]>(sends);
        // isend: a message that reached ZeroMQ resolves to its session id, a queued one to no id (rejoin)
        // or PeersDisconnectionError. send: none gets a reply; each resolves to no reply (rejoin) or fails
        // with PeersDisconnectionError, whether it was queued or already handed to ZeroMQ.
        const unsent = settled.filter((r) => r.status === "rejected" || r.value.length === 0).length;
        assert.ok(unsent > 50, `${unsent} of 100 were still queued when worker.1 died`);
        if (call === "send") assert.equal(unsent, 100);
        for (const r of settled) {
          if (r.status === "rejected") {
            assert.ok(!rejoin, `rejected in rejoin mode: ${String(r.reason)}`);
            assert.ok(r.reason instanceof PeersDisconnectionError, String(r.reason));
          }
        }
        if (!rejoin) return;
        const queued = master.getStats().cached;
        if (call === "isend") assert.equal(queued, unsent);
        assert.ok(queued > 50, `${queued} of 100 were cached`);
        // worker.1 comes back under its name: the cached messages arrive first, in order.
        const again = new WorkerProcess(workerOptions(group, "worker.1", discovery));
        children.push(again);
        const firstIndex = 100 - queued;
        const indexOf = (line: string): number => Number(/^got n \[(\d+),/.exec(line)?.[1] ?? -1);
        await again.waitLine((l) => indexOf(l) === 99, 30_000);
        const got = again.lines.filter((l) => l.startsWith("got n ")).map(indexOf);
        assert.deepEqual(
          got,
          Array.from({ length: queued }, (_, k) => firstIndex + k),
        );
        assert.equal(master.getStats().cached, 0);
      } finally {
        await master?.close();
        await w0?.close();
        await Promise.all(children.map((c) => c.kill()));
      }
    });
  }

  for (const via of ["local", "redis"] as const) {
    void it(`a worker SIGKILLed during scatter → PeersDisconnectionError within 2 × heartbeat expiry (${via})`, async () => {
      const group = uniqueName("kill");
      const discovery: Discovery =
        via === "local"
          ? { type: "local", heartbeatMs: HEARTBEAT_MS }
          : {
              type: "redis",
              url: REDIS_URL,
              keyPrefix: `${uniqueName("weft-test")}:`,
              heartbeatMs: HEARTBEAT_MS,
            };
      const child = new WorkerProcess(workerOptions(group, "worker.1", discovery));
      let master: Proxy | undefined;
      let w0: Proxy | undefined;
      try {
        [master, w0] = await masterAndWorker0(group, discovery);
        await child.ready();
        const call = master
          .scatter("hang", SessionType.TASK, [
            ["worker.0", null],
            ["worker.1", null],
          ])
          .then(
            () => "resolved",
            (e: unknown) => e,
          );
        await child.waitLine((l) => l === "got hang null");
        const killedAt = Date.now();
        await child.kill("SIGKILL");
        const err = await call;
        const took = Date.now() - killedAt;
        assert.ok(err instanceof PeersDisconnectionError, String(err));
        assert.match(err.message, /worker\.1/);
        assert.ok(took < 2 * 3 * HEARTBEAT_MS, `detected after ${took} ms`);
        assert.deepEqual(master.peersName.worker, ["worker.0"]);
        // Without rejoin, sending to the dead worker fails at once.
        await assert.rejects(
          master.scatter("sum", SessionType.TASK, [["worker.1", [1]]]),
          PeersDisconnectionError,
        );
      } finally {
        await master?.close();
        await w0?.close();
        await child.kill();
      }
    });
  }
});
