import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplyRegistry, NodeClient, ResearcherServer } from "../../../src/federated/index.ts";
import { ConfigError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";
import { RecordingLogger } from "../../helpers/federated-util.ts";

void test("settled requests are forgotten within two grace periods; pending ones are kept", async () => {
  const log = new RecordingLogger();
  const replies = new ReplyRegistry(log, 100);
  try {
    let calls = 0;
    replies.register("done", "n1", () => calls++);
    replies.register("waiting", "n1");
    assert.equal(replies.isPending("done"), true);
    const reply = new Message({ tag: "r", source: "n1", destination: "r", payload: 1 });
    assert.equal(replies.resolve("n1", "done", reply), true);
    assert.equal(calls, 1);
    assert.equal(replies.isPending("done"), false);
    assert.equal(replies.get("done")?.state, "replied");
    assert.equal(
      replies.resolve("n1", "done", new Message({ tag: "r", source: "n1", destination: "r" })),
      false,
    );
    assert.equal(log.warnings(/duplicate reply/), 1);
    assert.deepEqual(replies.pendingOf("n1"), ["waiting"]);
    await new Promise((r) => setTimeout(r, 260));
    assert.equal(replies.has("done"), false, "settled record dropped");
    assert.equal(replies.get("waiting")?.state, "pending", "pending record kept");
    assert.equal(replies.size, 1);
  } finally {
    replies.dispose();
  }
});

void test("at most maxSettled settled requests are remembered, however long the grace period", () => {
  const replies = new ReplyRegistry(new RecordingLogger(), 60_000, 1000);
  try {
    replies.register("still-waiting", "n1");
    for (let i = 0; i < 10_000; i++) {
      replies.register(`r${i}`, "n1");
      replies.resolve("n1", `r${i}`, new Message({ tag: "r", source: "n1", destination: "r" }));
    }
    assert.ok(replies.size <= 1 + 1000, `${replies.size} records kept`);
    assert.equal(replies.get("r9999")?.state, "replied", "the latest are kept");
    assert.equal(replies.has("r0"), false, "the oldest are forgotten");
    assert.equal(replies.isPending("still-waiting"), true, "pending requests are never dropped");
  } finally {
    replies.dispose();
  }
});

void test("maxSettledReplies that is not an integer of at least 2 is a ConfigError", () => {
  for (const bad of [0, 1, 2.5, Number.NaN]) {
    assert.throws(
      () => new ResearcherServer({ maxSettledReplies: bad, logger: new RecordingLogger() }),
      (e: unknown) =>
        e instanceof ConfigError && /maxSettledReplies must be an integer/.test((e as Error).message),
    );
  }
});

void test("a node remembers at least dedupWindow task ids", () => {
  const node = new NodeClient({
    nodeId: "n",
    researchers: [{ host: "127.0.0.1", port: 1 }],
    onTask: () => undefined,
    dedupWindow: 4,
  });
  const ids = ["a", "b", "c", "d", "e", "f", "g"];
  for (const id of ids) assert.equal(node.firstSight(id), true);
  for (const id of ids.slice(-4)) assert.equal(node.firstSight(id), false, `${id} remembered`);
  for (let i = 0; i < 20; i++) node.firstSight(`x${i}`);
  assert.equal(node.firstSight("a"), true, "old ids are forgotten (the memory is bounded)");
});
