import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { MessageSessionTypeError, WeftError } from "../../../src/core/errors.ts";
import {
  Message,
  NotificationSessionStage,
  SessionMessage,
  SessionType,
  TaskSessionStage,
  type SessionStage,
} from "../../../src/core/message.ts";

const ID = /^[A-Za-z0-9_-]{8}\.[0-9a-z]+$/;

function task(extra: Partial<ConstructorParameters<typeof SessionMessage>[0]> = {}): SessionMessage {
  return new SessionMessage({
    tag: "train",
    source: "learner",
    destination: "actor.0",
    payload: { steps: 10 },
    sessionType: SessionType.TASK,
    ...extra,
  });
}

void describe("Message", () => {
  void it("has the contract's constant values", () => {
    assert.deepEqual(SessionType, { TASK: "task", NOTIFICATION: "notification" });
    assert.deepEqual(TaskSessionStage, {
      REQUEST: "task_request",
      RECEIVE: "task_receive",
      COMPLETE: "task_complete",
    });
    assert.deepEqual(NotificationSessionStage, {
      REQUEST: "notification_request",
      RECEIVE: "notification_receive",
    });
  });

  void it("fills in fresh, distinct ids for sessionId and messageId", () => {
    const a = new Message({ tag: "t", source: "a", destination: "b" });
    const b = new Message({ tag: "t", source: "a", destination: "b" });
    assert.match(a.sessionId, ID);
    assert.match(a.messageId, ID);
    assert.notEqual(a.sessionId, a.messageId);
    assert.notEqual(a.sessionId, b.sessionId);
    assert.notEqual(a.messageId, b.messageId);
    assert.equal(a.payload, undefined);
  });

  void it("keeps given ids and fields", () => {
    const payload = [1, 2];
    const m = new Message({
      tag: "sum",
      source: "m",
      destination: "w.0",
      payload,
      sessionId: "s",
      messageId: "i",
    });
    assert.deepEqual(
      [m.tag, m.source, m.destination, m.payload, m.sessionId, m.messageId],
      ["sum", "m", "w.0", payload, "s", "i"],
    );
    assert.equal(m.payload, payload, "the payload is not copied");
  });

  void it("is immutable: assigning or adding a field throws", () => {
    const m = new Message({ tag: "t", source: "a", destination: "b", payload: 1 });
    assert.ok(Object.isFrozen(m));
    assert.throws(() => {
      (m as { tag: string }).tag = "other";
    }, TypeError);
    assert.throws(() => {
      (m as unknown as { extra: number }).extra = 1;
    }, TypeError);
    assert.equal(m.tag, "t");
    assert.ok(Object.isFrozen(m.reply()));
    assert.ok(Object.isFrozen(m.forward("c")));
  });

  void it("reply swaps source and destination, keeps sessionId, tag and payload, and gets a new messageId", () => {
    const payload = { weights: new Float32Array(4) };
    const m = new Message({ tag: "sum", source: "master", destination: "worker.0", payload });
    const r = m.reply();
    assert.ok(r instanceof Message);
    assert.equal(r.source, "worker.0");
    assert.equal(r.destination, "master");
    assert.equal(r.sessionId, m.sessionId);
    assert.notEqual(r.messageId, m.messageId);
    assert.match(r.messageId, ID);
    assert.equal(r.tag, "sum");
    assert.equal(r.payload, payload);
    // The original is unchanged.
    assert.deepEqual([m.source, m.destination, m.payload], ["master", "worker.0", payload]);
  });

  void it("reply and forward replace tag and payload when given", () => {
    const m = new Message({ tag: "sum", source: "a", destination: "b", payload: [1, 2] });
    const r = m.reply({ tag: "result", payload: 3 });
    assert.deepEqual([r.tag, r.payload], ["result", 3]);
    const onlyPayload = m.reply({ payload: null });
    assert.deepEqual([onlyPayload.tag, onlyPayload.payload], ["sum", null]);
    const onlyTag = m.forward("c", { tag: "relay" });
    assert.deepEqual([onlyTag.tag, onlyTag.payload], ["relay", [1, 2]]);
  });

  void it("treats an explicit `payload: undefined` as a new (empty) payload, and `tag: undefined` as omitted", () => {
    const m = new Message({ tag: "sum", source: "a", destination: "b", payload: [1, 2] });
    const cleared = m.reply({ payload: undefined });
    assert.equal(cleared.payload, undefined);
    assert.equal(m.forward("c", { payload: undefined }).payload, undefined);
    const sameTag = m.reply({ tag: undefined as unknown as string });
    assert.equal(sameTag.tag, "sum");
    assert.deepEqual(sameTag.payload, [1, 2]);
  });

  void it("forward sends to a new destination from the receiver, in the same session", () => {
    const m = new Message({ tag: "job", source: "master", destination: "router", payload: "x" });
    const f = m.forward("worker.3");
    assert.deepEqual([f.source, f.destination, f.tag, f.payload], ["router", "worker.3", "job", "x"]);
    assert.equal(f.sessionId, m.sessionId);
    assert.notEqual(f.messageId, m.messageId);
    // A chain keeps the session all the way.
    const back = f.reply().reply().forward("w.9");
    assert.equal(back.sessionId, m.sessionId);
  });

  void it("prints a one-line summary without the payload", () => {
    const m = new Message({ tag: "t", source: "a", destination: "b", payload: "secret", sessionId: "s1" });
    assert.equal(String(m), "Message(tag=t, a -> b, session=s1)");
  });
});

void describe("SessionMessage", () => {
  void it("starts at the REQUEST stage of its type", () => {
    assert.equal(task().sessionStage, TaskSessionStage.REQUEST);
    const n = new SessionMessage({
      tag: "n",
      source: "a",
      destination: "b",
      sessionType: SessionType.NOTIFICATION,
    });
    assert.equal(n.sessionStage, NotificationSessionStage.REQUEST);
    assert.equal(n.sessionType, "notification");
    assert.ok(Object.isFrozen(n));
    assert.ok(n instanceof Message);
  });

  void it("moves a task to COMPLETE on reply, or to RECEIVE with ackReply", () => {
    const req = task();
    const done = req.reply({ payload: "ok" });
    assert.ok(done instanceof SessionMessage);
    assert.equal(done.sessionStage, TaskSessionStage.COMPLETE);
    assert.equal(done.sessionType, SessionType.TASK);
    assert.equal(done.sessionId, req.sessionId);
    assert.notEqual(done.messageId, req.messageId);
    assert.deepEqual([done.source, done.destination, done.payload], ["actor.0", "learner", "ok"]);
    const ack = req.reply({ ackReply: true });
    assert.equal(ack.sessionStage, TaskSessionStage.RECEIVE);
    assert.deepEqual(ack.payload, { steps: 10 }, "payload kept when omitted");
    assert.equal(req.reply({ ackReply: false }).sessionStage, TaskSessionStage.COMPLETE);
    // After an acknowledgement the final reply completes the task.
    assert.equal(ack.reply().sessionStage, TaskSessionStage.COMPLETE);
  });

  void it("moves a notification to RECEIVE on reply, whatever ackReply says", () => {
    const n = new SessionMessage({
      tag: "n",
      source: "a",
      destination: "b",
      sessionType: SessionType.NOTIFICATION,
    });
    assert.equal(n.reply().sessionStage, NotificationSessionStage.RECEIVE);
    assert.equal(n.reply({ ackReply: true }).sessionStage, NotificationSessionStage.RECEIVE);
    assert.equal(n.reply({ ackReply: false }).sessionType, SessionType.NOTIFICATION);
    assert.equal(SessionMessage.replyStage(SessionType.NOTIFICATION, true), NotificationSessionStage.RECEIVE);
    assert.equal(SessionMessage.replyStage(SessionType.TASK, true), TaskSessionStage.RECEIVE);
    assert.equal(SessionMessage.replyStage(SessionType.TASK, false), TaskSessionStage.COMPLETE);
  });

  void it("forward keeps type and stage, and replaces tag/payload only when given", () => {
    const ack = task().reply({ ackReply: true });
    const f = ack.forward("monitor", { tag: "progress" });
    assert.ok(f instanceof SessionMessage);
    assert.deepEqual(
      [f.sessionType, f.sessionStage, f.tag, f.source, f.destination],
      [SessionType.TASK, TaskSessionStage.RECEIVE, "progress", "learner", "monitor"],
    );
    assert.deepEqual(f.payload, { steps: 10 });
    assert.equal(f.sessionId, ack.sessionId);
    assert.equal(task().forward("x", { payload: undefined }).payload, undefined);
  });

  void it("accepts an explicit stage of its own type", () => {
    assert.equal(task({ sessionStage: TaskSessionStage.COMPLETE }).sessionStage, "task_complete");
  });

  for (const bad of ["job", "", "TASK", "constructor", "toString", "__proto__", "hasOwnProperty"]) {
    void it(`rejects the unknown session type ${JSON.stringify(bad)} with MessageSessionTypeError (1007)`, () => {
      assert.throws(
        () => task({ sessionType: bad as SessionType }),
        (err: unknown) =>
          err instanceof MessageSessionTypeError &&
          err instanceof WeftError &&
          err.errorCode === 1007 &&
          err.code === "WEFT_ERR_MESSAGE_SESSION_TYPE" &&
          err.message.includes(JSON.stringify(bad)) &&
          err.message.includes("SessionType.TASK"),
      );
    });
  }

  void it("rejects a missing session type and a stage of the other type", () => {
    assert.throws(() => task({ sessionType: undefined as unknown as SessionType }), MessageSessionTypeError);
    assert.throws(
      () => task({ sessionStage: NotificationSessionStage.RECEIVE }),
      (err: unknown) => err instanceof MessageSessionTypeError && err.message.includes("task_request"),
    );
    assert.throws(() => task({ sessionStage: "done" as SessionStage }), MessageSessionTypeError);
  });
});
