import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { encodeMessage } from "../../../src/core/codec.ts";
import type { LoggerLike } from "../../../src/core/logger.ts";
import { Message, SessionType } from "../../../src/core/message.ts";
import { createGroup } from "../../helpers/proxy-group.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

const COUNT = 100_000;

void describe("Proxy under garbage input", () => {
  void it(`${COUNT} random frame sets at the unicast inbox: no crash, each counted and logged at debug`, async () => {
    let debugDecode = 0;
    const nop = (): void => {};
    const logger: LoggerLike = {
      debug: (m: string) => {
        if (m.includes("undecodable")) debugDecode++;
      },
      info: nop,
      warn: nop,
      error: nop,
      critical: nop,
      process: nop,
    };
    const g = await createGroup(1, { master: { logger } });
    const push = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 });
    try {
      push.connect(g.master.addresses.unicast);
      const pool = randomBytes(1 << 20);
      for (let i = 0; i < COUNT; i++) {
        const frames: Buffer[] = [];
        const n = 1 + (i % 4);
        for (let f = 0; f < n; f++) {
          const len = randomInt(0, 64);
          const at = randomInt(0, pool.length - len);
          frames.push(pool.subarray(at, at + len));
        }
        await push.send(frames);
      }
      // A well-formed message after the garbage still arrives (same connection, so it comes last).
      const real = new Message({ tag: "real", source: "outsider", destination: "master", payload: [1, 2] });
      await push.send(encodeMessage(real));
      const got = await g.master.receiveOnce({ timeoutMs: 30_000 });
      assert.equal(got.tag, "real");
      assert.deepEqual(got.payload, [1, 2]);
      assert.equal(g.master.getStats().decodeErrors, COUNT);
      assert.equal(debugDecode, COUNT);
      // The proxy still works with its peers.
      const r = await g.master.scatter("sum", SessionType.TASK, [["worker.0", [20, 22]]], {
        timeoutMs: 5000,
      });
      assert.equal(r[0]?.payload, 42);
    } finally {
      push.close();
      await g.close();
    }
  });

  void it("garbage at the broadcast inbox is counted too", async () => {
    const g = await createGroup(1, { serveWorkers: false });
    const pub = new zmq.Publisher({ linger: 0 });
    try {
      const worker = g.workers[0]!;
      pub.connect(worker.addresses.broadcast);
      // The subscriber's topics reach the publisher asynchronously: resend until something is counted.
      const topic = Buffer.from("t:worker\0");
      await waitFor(
        async () => {
          await pub.send([topic, randomBytes(17)]);
          return worker.getStats().decodeErrors > 0;
        },
        10_000,
        "a decode error at the broadcast inbox",
      );
      await g.master.ibroadcast("worker", "after", SessionType.NOTIFICATION, 1);
      assert.equal((await worker.receiveOnce({ timeoutMs: 5000 })).tag, "after");
    } finally {
      pub.close();
      await g.close();
    }
  });
});
