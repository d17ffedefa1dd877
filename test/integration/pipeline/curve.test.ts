import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { Push } from "zeromq";
import { ConfigError, TimeoutError } from "../../../src/core/errors.ts";
import { packValue } from "../../../src/core/codec.ts";
import { applyCurveClient, generateCurveKeyPair, zapRejections } from "../../../src/transport/curve.ts";
import { Parallel, Task, type ParallelOptions } from "../../../src/pipeline/index.ts";
import { RecordKind, encodeBatch, makeRecord } from "../../../src/pipeline/wire.ts";

const port = (): number => 20000 + Math.floor(Math.random() * 12000);

/** One well-formed event message, as a node would send it. */
function eventFrames(event: string, ...args: unknown[]): Uint8Array[] {
  const { body, attachments } = packValue(args);
  return encodeBatch([makeRecord(RecordKind.EVENT, `task.${event}`, body, attachments)], 0, 1);
}

async function sendAs(
  endpoint: string,
  frames: Uint8Array[],
  keys?: { publicKey: string; secretKey: string },
  serverKey?: string,
): Promise<Push> {
  const push = new Push({ linger: 0 });
  if (keys !== undefined && serverKey !== undefined) applyCurveClient(push, keys, serverKey);
  push.connect(endpoint);
  await push.send(frames);
  return push;
}

void test("CURVE links carry events; a client with a wrong key or without CURVE delivers nothing", async () => {
  const keys = generateCurveKeyPair();
  const base: Omit<ParallelOptions, "nodeId"> = {
    nParallelWorkers: 2,
    protocol: "tcp",
    ports: port(),
    curve: keys,
  };
  const routers = await Promise.all([0, 1].map((nodeId) => Parallel.start({ ...base, nodeId })));
  const [t0, t1] = routers.map((router) => new Task().start({ router })) as [Task, Task];
  const pushes: Push[] = [];
  try {
    const got = t1.waitFor("model", { timeoutMs: 5000 });
    t0.emit("model", new Float32Array([1, 2, 3]));
    assert.deepEqual([...((await got)?.[0] as Float32Array)], [1, 2, 3]);

    const forged: string[] = [];
    t0.on("forged", (who: string) => forged.push(who));
    const endpoint = routers[0]?.endpoint as string;
    const rejectedBefore = zapRejections();
    pushes.push(
      await sendAs(endpoint, eventFrames("forged", "wrong key"), generateCurveKeyPair(), keys.publicKey),
    );
    pushes.push(await sendAs(endpoint, eventFrames("forged", "no curve")));
    // Control: the same bytes from a client holding the job's key pair are delivered.
    const control = t0.waitFor("forged", { timeoutMs: 5000 });
    pushes.push(await sendAs(endpoint, eventFrames("forged", "job key"), keys, keys.publicKey));
    assert.deepEqual(await control, ["job key"]);
    for (let i = 0; i < 100 && zapRejections() === rejectedBefore; i++) await delay(20);
    assert.ok(zapRejections() > rejectedBefore, "the wrong key was never presented to the ZAP handler");
    // Give the refused clients time to retry; nothing of theirs may arrive.
    await delay(500);
    assert.deepEqual(forged, ["job key"]);
  } finally {
    for (const p of pushes) p.close();
    await t0.stop();
    await t1.stop();
    for (const r of routers) await r.close();
  }
});

void test("nodes holding different key pairs never link: start times out on both", async () => {
  const base = { nParallelWorkers: 2, protocol: "tcp" as const, ports: port(), startTimeoutMs: 1500 };
  const results = await Promise.allSettled([
    Parallel.start({ ...base, nodeId: 0, curve: generateCurveKeyPair() }),
    Parallel.start({ ...base, nodeId: 1, curve: generateCurveKeyPair() }),
  ]);
  for (const r of results) {
    if (r.status === "fulfilled") await r.value.close({ flushTimeoutMs: 0 });
    assert.equal(r.status, "rejected");
    assert.ok(
      r.status === "rejected" && r.reason instanceof TimeoutError,
      String((r as PromiseRejectedResult).reason),
    );
  }
});

void test("a malformed CURVE key is a ConfigError", async () => {
  await assert.rejects(
    Parallel.start({
      nodeId: 0,
      nParallelWorkers: 1,
      protocol: "tcp",
      ports: port(),
      curve: { publicKey: "short", secretKey: "short" },
    }),
    ConfigError,
  );
});
