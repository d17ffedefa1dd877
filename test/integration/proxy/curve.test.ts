import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { encodeMessage } from "../../../src/core/codec.ts";
import { PeersDisconnectionError, TimeoutError } from "../../../src/core/errors.ts";
import { DummyLogger } from "../../../src/core/logger.ts";
import { Proxy } from "../../../src/proxy/index.ts";
import { Message, SessionType } from "../../../src/core/message.ts";
import { generateCurveKeyPair, registerZapDomain, zapRejections } from "../../../src/transport/curve.ts";
import { createGroup } from "../../helpers/proxy-group.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

void describe("Proxy with CURVE", () => {
  void it("the ZAP handler restarts at once after the last domain was released", async () => {
    const key = generateCurveKeyPair().publicKey;
    for (let i = 0; i < 30; i++) {
      const release = await registerZapDomain(`weft.cycle.${i}`, [key]);
      release();
    }
    const a = await registerZapDomain("weft.shared", [key]);
    const b = await registerZapDomain("weft.shared", [key]);
    a();
    b();
    const last = await registerZapDomain("weft.after", [key]);
    last();
  });

  void it("a group sharing a key pair works over TCP; a client with a wrong key delivers nothing", async () => {
    const keys = generateCurveKeyPair();
    const driver = { protocol: "tcp" as const, curve: keys };
    const g = await createGroup(2, { master: { driver }, worker: { driver } });
    const intruder = new zmq.Push({ linger: 0 });
    try {
      assert.match(g.master.addresses.unicast, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      const replies = await g.master.scatter(
        "sum",
        SessionType.TASK,
        [
          ["worker.0", [1, 2]],
          ["worker.1", [3, 4]],
        ],
        { timeoutMs: 5000 },
      );
      assert.deepEqual(replies.map((r) => r.payload).sort(), [3, 7]);
      const b = await g.master.broadcast("worker", "echo", SessionType.TASK, "x", { timeoutMs: 5000 });
      assert.equal(b.length, 2);

      const before = zapRejections();
      const wrong = generateCurveKeyPair();
      intruder.curvePublicKey = wrong.publicKey;
      intruder.curveSecretKey = wrong.secretKey;
      intruder.curveServerKey = keys.publicKey; // knows the server's key, but its own key is not allowed
      intruder.connect(g.master.addresses.unicast);
      const forged = new Message({ tag: "forged", source: "worker.0", destination: "master", payload: 1 });
      void intruder.send(encodeMessage(forged)).catch(() => {});
      await waitFor(() => zapRejections() > before, 10_000, "the ZAP handler to reject the intruder");
      await assert.rejects(g.master.receiveOnce({ timeoutMs: 500 }), TimeoutError);
      assert.equal(g.master.getStats().messagesReceived, 4, "only the 4 genuine replies arrived");
    } finally {
      intruder.close();
      await g.close();
    }
  });

  void it("a member with a key the group does not accept cannot join, and broadcasts skip it", async () => {
    const keys = generateCurveKeyPair();
    const driver = { protocol: "tcp" as const, curve: keys };
    const g = await createGroup(1, { master: { driver, handshakeTimeoutMs: 800 }, worker: { driver } });
    try {
      const started = Date.now();
      const intruder = Proxy.create({
        groupName: g.group,
        componentType: "worker",
        componentName: "worker.intruder",
        expectedPeers: { master: 1 },
        driver: { protocol: "tcp", curve: generateCurveKeyPair() },
        handshakeTimeoutMs: 2500,
        logger: new DummyLogger(),
      }).then(
        () => assert.fail("the intruder must not join"),
        (e: unknown) => e,
      );
      await waitFor(
        () => (g.master.peersName.worker ?? []).includes("worker.intruder"),
        5000,
        "the master to discover the intruder",
      );
      // The intruder is listed but never completes the broadcast handshake: it is skipped, not awaited.
      const b = await g.master.broadcast("worker", "echo", SessionType.TASK, 1, { timeoutMs: 5000 });
      assert.deepEqual(
        b.map((r) => r.source),
        ["worker.0"],
      );
      assert.ok((await intruder) instanceof PeersDisconnectionError);
      assert.ok(Date.now() - started < 8000);
      await waitFor(
        () => !(g.master.peersName.worker ?? []).includes("worker.intruder"),
        5000,
        "the intruder to be gone",
      );
      const again = await g.master.scatter("sum", SessionType.TASK, [["worker.0", [2, 3]]], {
        timeoutMs: 5000,
      });
      assert.equal(again[0]?.payload, 5);
    } finally {
      await g.close();
    }
  });
});
