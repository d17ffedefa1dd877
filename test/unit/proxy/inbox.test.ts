import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "../../../src/core/message.ts";
import { Inbox } from "../../../src/proxy/inbox.ts";

function msg(tag: string): Message {
  return new Message({ tag, source: "a", destination: "b", payload: tag });
}

void describe("Inbox", () => {
  void it("keeps messages in arrival order", async () => {
    const inbox = new Inbox(10);
    inbox.push(msg("1"));
    inbox.push(msg("2"));
    assert.equal(inbox.size, 2);
    assert.equal((await inbox.shift())?.tag, "1");
    assert.equal((await inbox.shift())?.tag, "2");
    assert.equal(inbox.size, 0);
  });

  void it("hands a pushed message to a waiting shift", async () => {
    const inbox = new Inbox(10);
    const next = inbox.shift();
    inbox.push(msg("x"));
    assert.equal((await next)?.tag, "x");
    assert.equal(inbox.size, 0);
  });

  void it("takeMatching removes the oldest match and leaves the rest in order", async () => {
    const inbox = new Inbox(10);
    for (const t of ["a", "b", "c", "b2"]) inbox.push(msg(t));
    assert.equal(inbox.takeMatching((m) => m.tag.startsWith("b"))?.tag, "b");
    assert.equal(
      inbox.takeMatching((m) => m.tag === "zzz"),
      undefined,
    );
    const rest: string[] = [];
    while (inbox.size > 0) rest.push((await inbox.shift())!.tag);
    assert.deepEqual(rest, ["a", "c", "b2"]);
  });

  void it("reports full and wakes waitForRoom when a message is taken", async () => {
    const inbox = new Inbox(2);
    inbox.push(msg("1"));
    assert.equal(inbox.full, false);
    inbox.push(msg("2"));
    assert.equal(inbox.full, true);
    let woke = false;
    const room = inbox.waitForRoom().then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    await inbox.shift();
    await room;
    assert.equal(woke, true);
  });

  void it("releaseReader wakes a paused reader while the inbox stays full", async () => {
    const inbox = new Inbox(1);
    inbox.push(msg("1"));
    const room = inbox.waitForRoom();
    inbox.releaseReader();
    await room;
    assert.equal(inbox.full, true);
  });

  void it("shift resolves undefined when the signal aborts", async () => {
    const inbox = new Inbox(2);
    const started = Date.now();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    assert.equal(await inbox.shift(abort.signal), undefined);
    assert.ok(Date.now() - started >= 40);
    // The aborted taker is gone: a later push stays in the inbox.
    inbox.push(msg("later"));
    assert.equal(inbox.size, 1);
  });

  void it("close ends waiting shifts and later shifts drain what is left", async () => {
    const inbox = new Inbox(5);
    const waiting = inbox.shift();
    inbox.close();
    assert.equal(await waiting, undefined);
    const inbox2 = new Inbox(5);
    inbox2.push(msg("left"));
    inbox2.close();
    assert.equal((await inbox2.shift())?.tag, "left");
    assert.equal(await inbox2.shift(), undefined);
  });

  void it("nextResult gives iterator results, shares the waiting order with shift, and ends on close", async () => {
    const inbox = new Inbox(10);
    inbox.push(msg("ready"));
    const first = await inbox.nextResult();
    assert.equal(first.done, false);
    assert.equal((first.value as Message).tag, "ready");
    // Waiting takers of both kinds are served in the order they came.
    const a = inbox.nextResult();
    const b = inbox.shift();
    const c = inbox.nextResult();
    inbox.push(msg("1"));
    inbox.push(msg("2"));
    inbox.push(msg("3"));
    assert.equal(((await a).value as Message).tag, "1");
    assert.equal((await b)?.tag, "2");
    assert.equal(((await c).value as Message).tag, "3");
    const waiting = inbox.nextResult();
    const waitingShift = inbox.shift();
    inbox.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(await waitingShift, undefined);
    assert.deepEqual(await inbox.nextResult(), { done: true, value: undefined });
  });

  void it("messages() yields in order, drains after close, then stays done; return() ends it", async () => {
    const inbox = new Inbox(10);
    inbox.push(msg("1"));
    const it = inbox.messages();
    assert.equal((await it.next()).value?.tag, "1");
    const waiting = it.next();
    inbox.push(msg("2"));
    assert.equal((await waiting).value?.tag, "2");
    inbox.push(msg("3"));
    inbox.close();
    assert.equal((await it.next()).value?.tag, "3", "what was in the inbox at close is still read");
    assert.equal((await it.next()).done, true);
    inbox.push(msg("late"));
    assert.equal((await it.next()).done, true, "an ended iterator stays ended");
    const other = new Inbox(10).messages();
    assert.equal((await other.return?.())?.done, true);
    assert.equal((await other.next()).done, true);
  });

  void it("messages(signal) ends when the signal aborts, even while waiting", async () => {
    const inbox = new Inbox(10);
    const controller = new AbortController();
    const it = inbox.messages(controller.signal);
    inbox.push(msg("1"));
    assert.equal((await it.next()).value?.tag, "1");
    const waiting = it.next();
    controller.abort();
    assert.equal((await waiting).done, true);
    inbox.push(msg("2"));
    assert.equal((await it.next()).done, true);
    assert.equal(inbox.size, 1, "a message after the end stays for others");
  });
});
