/**
 * The message model shared by every part of weft.
 *
 * Messages are immutable. `reply()` and `forward()` return new messages that keep the `sessionId` (the
 * correlation key) and get a new `messageId`. An omitted tag or payload keeps the original's.
 * @module
 */
import { MessageSessionTypeError } from "./errors.ts";
import { newId } from "./ids.ts";

/**
 * Kinds of session a {@link SessionMessage} belongs to.
 * @example
 * ```ts
 * const replies = await proxy.scatter("rollout", SessionType.TASK, [["actor.0", seed]]);
 * ```
 */
export const SessionType = {
  /** A request that expects work and a result. */
  TASK: "task",
  /** A one-way notice that may be acknowledged. */
  NOTIFICATION: "notification",
} as const;
/** A session type value. */
export type SessionType = (typeof SessionType)[keyof typeof SessionType];

/**
 * Stages of a task session.
 * @example
 * ```ts
 * if (msg instanceof SessionMessage && msg.sessionStage === TaskSessionStage.REQUEST) {
 *   await proxy.reply(msg, { payload: result });
 * }
 * ```
 */
export const TaskSessionStage = {
  REQUEST: "task_request",
  RECEIVE: "task_receive",
  COMPLETE: "task_complete",
} as const;
/** A task session stage value. */
export type TaskSessionStage = (typeof TaskSessionStage)[keyof typeof TaskSessionStage];

/**
 * Stages of a notification session.
 * @example
 * ```ts
 * const ack = notice.reply(); // notice.sessionStage === NotificationSessionStage.REQUEST
 * ack.sessionStage; // NotificationSessionStage.RECEIVE
 * ```
 */
export const NotificationSessionStage = {
  REQUEST: "notification_request",
  RECEIVE: "notification_receive",
} as const;
/** A notification session stage value. */
export type NotificationSessionStage =
  (typeof NotificationSessionStage)[keyof typeof NotificationSessionStage];

/**
 * Any session stage.
 * @example
 * ```ts
 * const stage: SessionStage = TaskSessionStage.COMPLETE;
 * ```
 */
export type SessionStage = TaskSessionStage | NotificationSessionStage;

/**
 * Fields of a new {@link Message}.
 * @example
 * ```ts
 * const init: MessageInit<number[]> = { tag: "sum", source: "master", destination: "worker.0", payload: [1, 2] };
 * const msg = new Message(init);
 * ```
 */
export interface MessageInit<P = unknown> {
  /** What the message is about; receivers dispatch on it. */
  tag: string;
  /** Name of the sending component. */
  source: string;
  /** Name of the receiving component (or a component type for broadcasts). */
  destination: string;
  /** Any msgpack-able value; typed arrays and Buffers travel as their own frames. */
  payload?: P;
  /** Correlation key; a new UUID when omitted. */
  sessionId?: string;
  /** This message's own id; a new UUID when omitted. */
  messageId?: string;
}

/**
 * Changes applied by {@link Message.reply} and {@link Message.forward}.
 * @example
 * ```ts
 * const answer = request.reply({ payload: 42 }); // same sessionId, new messageId, tag kept
 * ```
 */
export interface DeriveOptions<P = unknown> {
  /** New tag; the original's when omitted. */
  tag?: string;
  /** New payload; the original's when omitted. */
  payload?: P;
}

/**
 * A message between two components.
 *
 * @example
 * ```ts
 * const m = new Message({ tag: "sum", source: "master", destination: "worker.0", payload: [1, 2] });
 * const r = m.reply({ payload: 3 }); // source "worker.0", destination "master", same sessionId
 * ```
 */
export class Message<P = unknown> {
  readonly tag: string;
  readonly source: string;
  readonly destination: string;
  readonly payload: P;
  readonly sessionId: string;
  readonly messageId: string;

  constructor(init: MessageInit<P>) {
    this.tag = init.tag;
    this.source = init.source;
    this.destination = init.destination;
    this.payload = init.payload as P;
    this.sessionId = init.sessionId ?? newId();
    this.messageId = init.messageId ?? newId();
    if (new.target === Message) Object.freeze(this);
  }

  /** A reply: source and destination swapped, same session, new message id. */
  reply<R = P>(options: DeriveOptions<R> = {}): Message<R> {
    return new Message<R>({
      tag: options.tag ?? this.tag,
      source: this.destination,
      destination: this.source,
      payload: ("payload" in options ? options.payload : this.payload) as R,
      sessionId: this.sessionId,
    });
  }

  /** A copy sent on to `destination`, same session, new message id; the source becomes this message's destination. */
  forward<R = P>(destination: string, options: DeriveOptions<R> = {}): Message<R> {
    return new Message<R>({
      tag: options.tag ?? this.tag,
      source: this.destination,
      destination,
      payload: ("payload" in options ? options.payload : this.payload) as R,
      sessionId: this.sessionId,
    });
  }

  /** A readable one-line summary (payload omitted). */
  toString(): string {
    return `Message(tag=${this.tag}, ${this.source} -> ${this.destination}, session=${this.sessionId})`;
  }
}

/**
 * Fields of a new {@link SessionMessage}.
 * @example
 * ```ts
 * const task = new SessionMessage({
 *   tag: "rollout",
 *   source: "learner",
 *   destination: "actor.0",
 *   sessionType: SessionType.TASK,
 *   payload: { seed: 7 },
 * });
 * ```
 */
export interface SessionMessageInit<P = unknown> extends MessageInit<P> {
  /** Task or notification. */
  sessionType: SessionType;
  /** Stage; REQUEST of the session type when omitted. */
  sessionStage?: SessionStage;
}

/**
 * Options of {@link SessionMessage.reply}.
 * @example
 * ```ts
 * const ack = task.reply({ ackReply: true }); // stage RECEIVE instead of COMPLETE
 * ```
 */
export interface SessionReplyOptions<P = unknown> extends DeriveOptions<P> {
  /** For a task: reply with RECEIVE (an acknowledgement) rather than COMPLETE. */
  ackReply?: boolean;
}

const VALID_STAGES: Record<SessionType, readonly string[]> = {
  task: Object.values(TaskSessionStage),
  notification: Object.values(NotificationSessionStage),
};

/**
 * A message that belongs to a task or notification session and carries its stage.
 *
 * @example
 * ```ts
 * const req = new SessionMessage({ tag: "train", source: "learner", destination: "actor.0",
 *   sessionType: SessionType.TASK });
 * req.sessionStage;                      // "task_request"
 * req.reply({ ackReply: true }).sessionStage; // "task_receive"
 * req.reply().sessionStage;              // "task_complete"
 * ```
 */
export class SessionMessage<P = unknown> extends Message<P> {
  readonly sessionType: SessionType;
  readonly sessionStage: SessionStage;

  constructor(init: SessionMessageInit<P>) {
    super(init);
    // Compared, not looked up by key: "constructor" or "toString" must be rejected like any other unknown
    // type (and this runs for every message).
    const stages =
      init.sessionType === SessionType.TASK
        ? VALID_STAGES.task
        : init.sessionType === SessionType.NOTIFICATION
          ? VALID_STAGES.notification
          : undefined;
    if (stages === undefined) {
      throw new MessageSessionTypeError(
        `unknown session type ${JSON.stringify(init.sessionType)}; use SessionType.TASK ("task") or SessionType.NOTIFICATION ("notification")`,
      );
    }
    const stage =
      init.sessionStage ??
      (init.sessionType === SessionType.TASK ? TaskSessionStage.REQUEST : NotificationSessionStage.REQUEST);
    if (!stages.includes(stage)) {
      throw new MessageSessionTypeError(
        `session stage ${JSON.stringify(stage)} does not belong to a ${init.sessionType} session; use one of ${stages.join(", ")}`,
      );
    }
    this.sessionType = init.sessionType;
    this.sessionStage = stage;
    if (new.target === SessionMessage) Object.freeze(this);
  }

  /** Next stage of this session after a reply. */
  static replyStage(type: SessionType, ackReply: boolean): SessionStage {
    if (type === SessionType.TASK) return ackReply ? TaskSessionStage.RECEIVE : TaskSessionStage.COMPLETE;
    return NotificationSessionStage.RECEIVE;
  }

  /** A reply whose stage moves on: TASK → RECEIVE (ackReply) or COMPLETE; NOTIFICATION → RECEIVE. */
  override reply<R = P>(options: SessionReplyOptions<R> = {}): SessionMessage<R> {
    return new SessionMessage<R>({
      tag: options.tag ?? this.tag,
      source: this.destination,
      destination: this.source,
      payload: ("payload" in options ? options.payload : this.payload) as R,
      sessionId: this.sessionId,
      sessionType: this.sessionType,
      sessionStage: SessionMessage.replyStage(this.sessionType, options.ackReply ?? false),
    });
  }

  /** A copy sent on to `destination`; same session and stage. */
  override forward<R = P>(destination: string, options: DeriveOptions<R> = {}): SessionMessage<R> {
    return new SessionMessage<R>({
      tag: options.tag ?? this.tag,
      source: this.destination,
      destination,
      payload: ("payload" in options ? options.payload : this.payload) as R,
      sessionId: this.sessionId,
      sessionType: this.sessionType,
      sessionStage: this.sessionStage,
    });
  }
}
