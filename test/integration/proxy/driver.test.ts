import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ZmqDriver } from "../../../src/transport/driver.ts";
import { UnknownPeerError } from "../../../src/core/errors.ts";
import { DummyLogger } from "../../../src/core/logger.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

const b = (...parts: string[]): Buffer[] => parts.map((x) => Buffer.from(x));

interface Received {
  driver: ZmqDriver;
  got: { text: string; channel: string }[];
}

async function receiver(name: string, type: string): Promise<Received> {
  const driver = await ZmqDriver.create(name, type, { logger: new DummyLogger() });
  const got: Received["got"] = [];
  driver.onFrames((frames, channel) => {
    got.push({ text: frames.map((f) => f.toString()).join("|"), channel });
  });
  return { driver, got };
}

function endpoint(r: Received) {
  return { name: r.driver.name, type: r.driver.type, ...r.driver.addresses };
}

void describe("ZmqDriver", () => {
  void it("sends unicast frames to 3 receivers, each getting only its own", async () => {
    const sender = await ZmqDriver.create("master", "master", { logger: new DummyLogger() });
    const rs = await Promise.all([0, 1, 2].map((i) => receiver(`worker.${i}`, "worker")));
    try {
      for (const r of rs) sender.connect(endpoint(r));
      await Promise.all(rs.map((r, i) => sender.sendUnicast(r.driver.name, b(`to ${i}`, "x"))));
      await waitFor(() => rs.every((r) => r.got.length === 1), 5000, "3 unicast messages");
      rs.forEach((r, i) => assert.deepEqual(r.got, [{ text: `to ${i}|x`, channel: "unicast" }]));
      await assert.rejects(sender.sendUnicast("nobody", b("x")), UnknownPeerError);
    } finally {
      await Promise.all([sender.close(), ...rs.map((r) => r.driver.close())]);
    }
  });

  void it("delivers the very first broadcast to 3 receivers once they are broadcast-ready", async () => {
    const sender = await ZmqDriver.create("master", "master", { logger: new DummyLogger() });
    const rs = await Promise.all([0, 1, 2].map((i) => receiver(`worker.${i}`, "worker")));
    try {
      for (const r of rs) sender.connect(endpoint(r));
      await sender.waitBroadcastReady(
        rs.map((r) => r.driver.name),
        AbortSignal.timeout(5000),
      );
      await sender.broadcast("worker", b("first"));
      await waitFor(() => rs.every((r) => r.got.length === 1), 5000, "the first broadcast everywhere");
      for (const r of rs) assert.deepEqual(r.got, [{ text: "first", channel: "broadcast" }]);
    } finally {
      await Promise.all([sender.close(), ...rs.map((r) => r.driver.close())]);
    }
  });

  void it("matches broadcast topics by exact type (actor does not get actor_eval's)", async () => {
    const sender = await ZmqDriver.create("learner", "learner", { logger: new DummyLogger() });
    const actor = await receiver("actor.0", "actor");
    const evalr = await receiver("actor_eval.0", "actor_eval");
    try {
      sender.connect(endpoint(actor));
      sender.connect(endpoint(evalr));
      await sender.waitBroadcastReady(["actor.0", "actor_eval.0"], AbortSignal.timeout(5000));
      await sender.broadcast("actor_eval", b("for eval"));
      await sender.broadcast("actor", b("for actors"));
      await sender.broadcast("act", b("for a prefix"));
      await sender.broadcast("actor_eval", b("last"));
      await waitFor(() => actor.got.length >= 1 && evalr.got.length >= 2, 5000, "broadcasts to both types");
      assert.deepEqual(
        actor.got.map((g) => g.text),
        ["for actors"],
      );
      assert.deepEqual(
        evalr.got.map((g) => g.text),
        ["for eval", "last"],
      );
    } finally {
      await Promise.all([sender.close(), actor.driver.close(), evalr.driver.close()]);
    }
  });

  void it("close never hangs with sends queued to a peer that is not there", async () => {
    const sender = await ZmqDriver.create("m", "m", { logger: new DummyLogger(), lingerMs: 100 });
    sender.connect({
      name: "ghost",
      type: "w",
      unicast: "tcp://127.0.0.1:9",
      broadcast: "tcp://127.0.0.1:9",
    });
    const pending = sender.sendUnicast("ghost", b("x"));
    const started = Date.now();
    await sender.close();
    await pending.catch(() => {});
    assert.ok(Date.now() - started < 3000);
    assert.equal(sender.hasPeer("ghost"), false);
  });
});
