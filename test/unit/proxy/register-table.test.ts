import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ConditionalEventSyntaxError, ConfigError } from "../../../src/core/errors.ts";
import type { LoggerLike } from "../../../src/core/logger.ts";
import { Message, SessionMessage, SessionType } from "../../../src/core/message.ts";
import type { PeersName } from "../../../src/proxy/conditional-event.ts";
import { RegisterTable, type EventHandler } from "../../../src/proxy/register-table.ts";

const workers = (n: number): string[] => Array.from({ length: n }, (_, i) => `worker.${i}`);

function msg(source: string, tag = "update", payload: unknown = null): Message {
  return new SessionMessage({
    tag,
    source,
    destination: "master",
    payload,
    sessionType: SessionType.NOTIFICATION,
  });
}

class RecordingLogger implements LoggerLike {
  readonly lines: [string, string][] = [];
  debug(m: string): void {
    this.lines.push(["debug", m]);
  }
  info(m: string): void {
    this.lines.push(["info", m]);
  }
  warn(m: string): void {
    this.lines.push(["warn", m]);
  }
  error(m: string): void {
    this.lines.push(["error", m]);
  }
  critical(m: string): void {
    this.lines.push(["critical", m]);
  }
  process(m: string): void {
    this.lines.push(["process", m]);
  }
}

const quiet = { logger: new RecordingLogger() };
const h1: EventHandler = () => 1;
const h2: EventHandler = () => 2;
const h3: EventHandler = () => 3;

void describe("RegisterTable: MARO's cases", () => {
  const peers: PeersName = { worker: workers(10), ps: ["ps.0"] };

  void it("fires a single unit event and consumes its message", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler("worker.0:update:1", h1);
    const m = msg("worker.0");
    assert.equal(table.push(m), 1);
    assert.deepEqual(table.get(), [[h1, [m]]]);
    assert.deepEqual(table.get(), []);
    assert.equal(table.bufferedMessages, 0);
  });

  void it("does not fire on another tag or another source", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler("worker.0:update:1", h1);
    assert.equal(table.push(msg("worker.0", "other")), 0);
    assert.equal(table.push(msg("worker.1", "update")), 0);
    assert.deepEqual(table.get(), []);
  });

  void it("matches any tag with *", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler("worker:*:2", h1);
    const a = msg("worker.3", "update");
    const b = msg("worker.4", "loss");
    table.push(a);
    assert.deepEqual(table.get(), []);
    table.push(b);
    assert.deepEqual(table.get(), [[h1, [a, b]]]);
  });

  void it("*:tag:50% over 10 peers fires after the 5th and the 10th message", () => {
    const table = new RegisterTable({ worker: workers(10) }, quiet);
    table.registerEventHandler("*:update:50%", h1);
    const sent = workers(10).map((name) => msg(name));
    const firedAt: number[] = [];
    const delivered: Message[][] = [];
    sent.forEach((m, i) => {
      table.push(m);
      for (const [handler, messages] of table.get()) {
        assert.equal(handler, h1);
        firedAt.push(i + 1);
        delivered.push(messages);
      }
    });
    assert.deepEqual(firedAt, [5, 10]);
    assert.deepEqual(delivered, [sent.slice(0, 5), sent.slice(5)]);
  });

  void it("AND fires only when every part is satisfied", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler(["worker.0:update:1", "worker.1:update:2", "AND"], h1);
    const a = msg("worker.0");
    const b1 = msg("worker.1");
    const b2 = msg("worker.1");
    table.push(a);
    table.push(b1);
    assert.deepEqual(table.get(), []);
    table.push(b2);
    assert.deepEqual(table.get(), [[h1, [a, b1, b2]]]);
    assert.deepEqual(table.get(), []);
  });

  void it("OR fires when one part is satisfied and leaves the other part's partial messages waiting", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler(["worker.0:update:2", "worker.1:update:1", "OR"], h1);
    const a = msg("worker.0");
    const b = msg("worker.1");
    table.push(a);
    assert.deepEqual(table.get(), []);
    table.push(b);
    assert.deepEqual(table.get(), [[h1, [b]]]);
    const a2 = msg("worker.0");
    table.push(a2);
    assert.deepEqual(table.get(), [[h1, [a, a2]]]);
  });

  void it("OR gives the messages of every satisfied part at once", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler(["worker.0:update:1", "worker.1:update:1", "OR"], h1);
    const b = msg("worker.1");
    const a = msg("worker.0");
    table.push(b);
    table.push(a);
    assert.deepEqual(table.get(), [[h1, [b, a]]]);
  });

  void it("nested AND inside OR", () => {
    const table = new RegisterTable({ w: ["w1", "w2", "w3"] }, quiet);
    table.registerEventHandler([["w1:update:2", "w2:update:3", "AND"], "w3:update:1", "OR"], h1);
    const w1 = [msg("w1"), msg("w1")];
    const w2 = [msg("w2"), msg("w2"), msg("w2")];
    table.push(w1[0]!);
    table.push(w2[0]!);
    table.push(w1[1]!);
    table.push(w2[1]!);
    assert.deepEqual(table.get(), []);
    table.push(w2[2]!);
    assert.deepEqual(table.get(), [[h1, [w1[0], w2[0], w1[1], w2[1], w2[2]]]]);
    const w3 = msg("w3");
    table.push(w3);
    assert.deepEqual(table.get(), [[h1, [w3]]]);
  });

  void it("nested AND inside AND", () => {
    const table = new RegisterTable({ w: ["w1", "w2", "w3"] }, quiet);
    table.registerEventHandler([["w1:update:1", "w2:update:1", "AND"], "w3:update:1", "AND"], h1);
    const [a, b, c] = [msg("w1"), msg("w2"), msg("w3")];
    table.push(c);
    table.push(a);
    assert.deepEqual(table.get(), []);
    table.push(b);
    assert.deepEqual(table.get(), [[h1, [c, a, b]]]);
  });

  void it("one push fires two events, returned together by get()", () => {
    const table = new RegisterTable(peers, quiet);
    table.registerEventHandler("worker.0:update:1", h1);
    table.registerEventHandler("*:update:1", h2);
    table.registerEventHandler("ps:update:1", h3);
    const m = msg("worker.0");
    assert.equal(table.push(m), 2);
    assert.deepEqual(table.get(), [
      [h1, [m]],
      [h2, [m]],
    ]);
  });
});

void describe("RegisterTable: source rule", () => {
  void it("gives a message to the longest matching source within one event", () => {
    const table = new RegisterTable({ worker: workers(12) }, quiet);
    // worker.1 and worker.10 match the prefix "worker.1"; worker.10 matches its own name even better.
    table.registerEventHandler(["worker:update:2", "worker.1:update:1", "worker.10:update:1", "AND"], h1);
    const m1 = msg("worker.1");
    const m10 = msg("worker.10");
    const m11 = msg("worker.11");
    table.push(m1);
    table.push(m10);
    table.push(m11); // prefix "worker.1" again: its unit already has one, "worker" still has none
    assert.deepEqual(table.get(), []);
    const m2 = msg("worker.2");
    const m3 = msg("worker.3");
    table.push(m2);
    table.push(m3);
    const fired = table.get();
    assert.equal(fired.length, 1);
    // "worker.1" takes its first message only; m11 stays for a later firing.
    assert.deepEqual(fired[0]?.[1], [m1, m10, m2, m3]);
    assert.equal(table.bufferedMessages, 1);
  });

  void it("never delivers one message twice through two units of the same event", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    table.registerEventHandler(["worker:update:1", "*:update:1", "OR"], h1);
    const m = msg("worker.0");
    table.push(m);
    assert.deepEqual(table.get(), [[h1, [m]]]);
  });

  void it("prefers an exact tag over * for the same source", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    table.registerEventHandler(["worker:*:1", "worker:update:2", "AND"], h1);
    const u1 = msg("worker.0", "update");
    const u2 = msg("worker.1", "update");
    table.push(u1);
    table.push(u2);
    assert.deepEqual(table.get(), []); // both went to the exact tag unit
    const other = msg("worker.2", "loss");
    table.push(other);
    assert.deepEqual(table.get(), [[h1, [u1, u2, other]]]);
  });

  void it("a type matches its members only, not names that share its prefix", () => {
    const table = new RegisterTable({ actor: ["actor.0"], actor_eval: ["actor_eval.0"] }, quiet);
    table.registerEventHandler("actor:update:1", h1);
    assert.equal(table.push(msg("actor_eval.0")), 0);
    const m = msg("actor.0");
    assert.equal(table.push(m), 1);
    assert.deepEqual(table.get(), [[h1, [m]]]);
  });

  void it("a name prefix that is not a type matches by prefix", () => {
    const table = new RegisterTable({ actor: ["actor.0"], actor_eval: ["actor_eval.0"] }, quiet);
    table.registerEventHandler("actor_:update:1", h1);
    const m = msg("actor_eval.0");
    assert.equal(table.push(m), 1);
    assert.deepEqual(table.get(), [[h1, [m]]]);
  });
});

void describe("RegisterTable: amounts and the live peer set", () => {
  void it("rounds a percentage up (30 % of 5 peers is 2 messages)", () => {
    const table = new RegisterTable({ worker: workers(5) }, quiet);
    table.registerEventHandler("worker:update:30%", h1);
    table.push(msg("worker.0"));
    assert.deepEqual(table.get(), []);
    table.push(msg("worker.1"));
    assert.equal(table.get().length, 1);
  });

  void it("needs at least one message when no peer matches yet", () => {
    const table = new RegisterTable({ worker: [] }, quiet);
    table.registerEventHandler("worker.:update:10%", h1);
    assert.deepEqual(table.get(), []);
    table.push(msg("worker.0"));
    assert.equal(table.get().length, 1);
  });

  void it("reads a peer function on every evaluation: a new peer raises a percentage", () => {
    const current: Record<string, string[]> = { worker: workers(4) };
    let calls = 0;
    const table = new RegisterTable(() => {
      calls += 1;
      return current;
    }, quiet);
    table.registerEventHandler("worker:update:50%", h1);
    table.push(msg("worker.0"));
    table.push(msg("worker.1"));
    current.worker = workers(6); // two peers join: 50 % of 6 is 3
    assert.deepEqual(table.get(), []);
    const m = msg("worker.5"); // a new peer belongs to the type at once
    assert.equal(table.push(m), 1);
    assert.equal(table.get()[0]?.[1].length, 3);
    assert.ok(calls >= 5);
  });

  void it("reads a Proxy-like object's peersName property live", () => {
    const proxy = { name: "master", peersName: { worker: workers(2) } as PeersName };
    const table = new RegisterTable(proxy, quiet);
    table.registerEventHandler("worker:update:100%", h1);
    table.push(msg("worker.0"));
    proxy.peersName = { worker: workers(1) }; // a peer left: 100 % of 1 is 1
    assert.equal(table.get()[0]?.[1].length, 1);
  });

  void it("treats a record with a type named peersName as a fixed peer set", () => {
    const table = new RegisterTable({ peersName: ["p.0", "p.1"] }, quiet);
    table.registerEventHandler("peersName:update:100%", h1);
    table.push(msg("p.0"));
    assert.deepEqual(table.get(), []);
    table.push(msg("p.1"));
    assert.equal(table.get().length, 1);
  });

  void it("rejects malformed peer sets with ConfigError", () => {
    assert.throws(() => new RegisterTable(null as unknown as PeersName), ConfigError);
    assert.throws(
      () => new RegisterTable({ worker: "worker.0" } as unknown as PeersName),
      /entry for "worker"/,
    );
    const table = new RegisterTable(() => [] as unknown as PeersName, quiet);
    table.registerEventHandler("*:update:1", h1);
    assert.throws(() => table.push(msg("a")), /the peers function returned an array/);
    assert.throws(() => new RegisterTable({}, { maxBufferedMessages: 0 }), /maxBufferedMessages/);
  });
});

void describe("RegisterTable: consumption and delivery", () => {
  void it("consumes first-in first-out", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    table.registerEventHandler("worker:update:2", h1);
    const sent = Array.from({ length: 5 }, (_, i) => msg(`worker.${i % 3}`, "update", i));
    for (const m of sent) table.push(m);
    assert.deepEqual(table.get(), [[h1, sent.slice(0, 2)]]); // one entry per event per call
    assert.deepEqual(table.get(), [[h1, sent.slice(2, 4)]]);
    assert.deepEqual(table.get(), []);
    const last = msg("worker.2", "update", 5);
    table.push(last);
    assert.deepEqual(table.get(), [[h1, [sent[4], last]]]);
  });

  void it("keeps one copy per event: a message consumed by one event stays available to another", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    table.registerEventHandler("worker:update:1", h1);
    table.registerEventHandler("worker:update:2", h2);
    const a = msg("worker.0");
    const b = msg("worker.1");
    table.push(a);
    assert.deepEqual(table.get(), [[h1, [a]]]);
    table.push(b);
    assert.deepEqual(table.get(), [
      [h1, [b]],
      [h2, [a, b]],
    ]);
  });

  void it("delivers a message to a given handler at most once, even through two events", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    table.registerEventHandler("worker.0:update:1", h1);
    table.registerEventHandler("*:update:2", h1);
    const a = msg("worker.0");
    const b = msg("worker.1");
    const c = msg("worker.2");
    table.push(a);
    table.push(b);
    // The first event takes a; the second may no longer count a, so it has only b.
    assert.deepEqual(table.get(), [[h1, [a]]]);
    table.push(c);
    assert.deepEqual(table.get(), [[h1, [b, c]]]);
    const seen = new Set<Message>();
    for (const m of [a, b, c]) {
      assert.ok(!seen.has(m));
      seen.add(m);
    }
  });

  void it("ignores a message pushed twice", () => {
    const logger = new RecordingLogger();
    const table = new RegisterTable({ worker: workers(3) }, { logger });
    table.registerEventHandler("worker:update:1", h1);
    const m = msg("worker.0");
    assert.equal(table.push(m), 1);
    assert.equal(table.push(m), 0);
    assert.equal(table.push(new Message({ ...m, payload: "copy" })), 0); // same messageId
    assert.equal(table.duplicateMessages, 2);
    assert.deepEqual(table.get(), [[h1, [m]]]);
    assert.deepEqual(table.get(), []);
    assert.ok(logger.lines.some(([level, line]) => level === "debug" && line.includes("already pushed")));
  });

  void it("forgets ids beyond the duplicate window", () => {
    const table = new RegisterTable({ worker: workers(3) }, { ...quiet, duplicateWindow: 2 });
    table.registerEventHandler("worker:update:1", h1);
    const a = msg("worker.0");
    table.push(a);
    table.push(msg("worker.1"));
    table.push(msg("worker.2"));
    assert.equal(table.push(a), 1); // a's id was evicted from the window
  });

  void it("registering the same event and handler twice is one registration; unregister stops it", () => {
    const table = new RegisterTable({ worker: workers(3) }, quiet);
    const off = table.registerEventHandler(["worker.0:update:1", "worker.1:update:1", "OR"], h1);
    table.registerEventHandler(["worker.0:update:1", "worker.1:update:1", "OR"], h1);
    assert.equal(table.push(msg("worker.0")), 1);
    assert.equal(table.get().length, 1);
    off();
    assert.equal(table.push(msg("worker.0")), 0);
    assert.deepEqual(table.get(), []);
  });
});

void describe("RegisterTable: bounded buffers", () => {
  void it("drops the oldest message of a full unit buffer, counts and logs it", () => {
    const logger = new RecordingLogger();
    const table = new RegisterTable({ a: ["a"], b: ["b"] }, { logger, maxBufferedMessages: 4 });
    table.registerEventHandler(["a:update:1", "b:update:1", "AND"], h1);
    const fromA = Array.from({ length: 10 }, (_, i) => msg("a", "update", i));
    for (const m of fromA) table.push(m);
    assert.equal(table.droppedMessages, 6);
    assert.equal(table.bufferedMessages, 4);
    const warns = logger.lines.filter(([level]) => level === "warn");
    assert.equal(warns.length, 3); // drops 1, 2 and 4
    assert.match(
      warns[0]?.[1] ?? "",
      /buffer of unit "a:update:1" is full \(4 messages\).*1 dropped in total/,
    );
    assert.equal(logger.lines.filter(([level]) => level === "debug").length, 3);
    const b = msg("b");
    table.push(b);
    assert.deepEqual(table.get(), [[h1, [fromA[6], b]]]);
  });

  void it("rejects a count above the buffer cap at registration", () => {
    const table = new RegisterTable({}, { ...quiet, maxBufferedMessages: 8 });
    assert.throws(
      () => table.registerEventHandler(["a:x:1", "b:y:9", "OR"], h1),
      (err: unknown) =>
        err instanceof ConditionalEventSyntaxError &&
        /event\[1\]: "b:y:9" needs 9 messages .* 8/.test(err.message),
    );
  });

  void it("makes room for a percentage that needs more than the cap", () => {
    const table = new RegisterTable({ worker: workers(6) }, { ...quiet, maxBufferedMessages: 2 });
    table.registerEventHandler("worker:update:100%", h1);
    const sent = workers(6).map((n) => msg(n));
    for (const m of sent) table.push(m);
    assert.equal(table.droppedMessages, 0);
    assert.deepEqual(table.get(), [[h1, sent]]);
  });

  void it("throws ConditionalEventSyntaxError from registerEventHandler", () => {
    const table = new RegisterTable({}, quiet);
    assert.throws(() => table.registerEventHandler("worker:update", h1), ConditionalEventSyntaxError);
    assert.throws(
      () => table.registerEventHandler(["a:x:1", "b:y:1", "NOT"], h1),
      ConditionalEventSyntaxError,
    );
  });
});
