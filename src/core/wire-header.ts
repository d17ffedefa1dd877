/**
 * The header fields of a wire message: their versions, flags and session codes, the checks a received
 * header must pass, and the message built from checked fields. `codec.ts` frames and unframes; this file
 * says what the ten header fields mean (docs/wire-protocol.md lists them).
 * @module
 */
import { DecodeError } from "./errors.ts";
import {
  Message,
  NotificationSessionStage,
  SessionMessage,
  SessionType,
  TaskSessionStage,
  type SessionStage,
} from "./message.ts";

/**
 * Version of the wire format written in every header.
 * @example
 * ```ts
 * decodeHeader(encodeMessage(msg)[0]).version === WIRE_VERSION; // true
 * ```
 */
export const WIRE_VERSION = 2;
/**
 * The previous wire version (header frame, body frame, attachments), still accepted by the decoder.
 * @example
 * ```ts
 * const isLegacy = decodeHeader(frames[0]).version === LEGACY_WIRE_VERSION; // a sender still on version 1
 * ```
 */
export const LEGACY_WIRE_VERSION = 1;

/**
 * Header flag: the message is a {@link SessionMessage}.
 * @example
 * ```ts
 * const isSession = (decodeHeader(frames[0]).flags & FLAG_SESSION) !== 0;
 * ```
 */
export const FLAG_SESSION = 1;

/**
 * Decoded header fields (see docs/wire-protocol.md).
 * @example
 * ```ts
 * const header: WireHeader = decodeHeader(frames[0]);
 * console.log(header.tag, header.source); // routing facts without decoding the payload
 * ```
 */
export interface WireHeader {
  version: number;
  flags: number;
  tag: string;
  source: string;
  destination: string;
  sessionId: string;
  messageId: string;
  sessionType: SessionType | null;
  sessionStage: SessionStage | null;
  attachmentCount: number;
}

// Session type and stage travel as small integers (a string name is accepted too, so a foreign client
// may send either): the names would take 17 bytes of a small message, enough to push it past the size
// under which ZeroMQ copies a frame instead of releasing it later from its I/O thread.
const SESSION_TYPES: readonly SessionType[] = [SessionType.TASK, SessionType.NOTIFICATION];
const SESSION_STAGES: Record<SessionType, readonly SessionStage[]> = {
  task: [TaskSessionStage.REQUEST, TaskSessionStage.RECEIVE, TaskSessionStage.COMPLETE],
  notification: [NotificationSessionStage.REQUEST, NotificationSessionStage.RECEIVE],
};

/** A header value for an error message: strings quoted, numbers as they are, anything else by its type. */
function describeWireValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return String(value);
  return value === null ? "nil" : `a value of type ${typeof value}`;
}

/**
 * The wire code of a session type.
 * @example
 * ```ts
 * sessionTypeCode(SessionType.NOTIFICATION); // 1
 * ```
 */
export function sessionTypeCode(type: SessionType): number {
  return SESSION_TYPES.indexOf(type);
}

/**
 * The wire code of a session stage (its index among its type's stages).
 * @example
 * ```ts
 * sessionStageCode(SessionType.TASK, TaskSessionStage.COMPLETE); // 2
 * ```
 */
export function sessionStageCode(type: SessionType, stage: SessionStage): number {
  return SESSION_STAGES[type].indexOf(stage);
}

/** The entry of `names` that a header value stands for: its index there, or the name itself. */
function fromCodeOrName<T extends string>(value: unknown, names: readonly T[]): T | undefined {
  if (typeof value === "number") return names[value];
  if (typeof value === "string" && (names as readonly string[]).includes(value)) return value as T;
  return undefined;
}

function sessionTypeFromWire(value: unknown): SessionType {
  const type = fromCodeOrName(value, SESSION_TYPES);
  if (type !== undefined) return type;
  throw new DecodeError(
    `session message header has session type ${describeWireValue(value)}; expected 0 ("task") or 1 ("notification")`,
  );
}

function sessionStageFromWire(type: SessionType, value: unknown): SessionStage {
  const stages = SESSION_STAGES[type];
  const stage = fromCodeOrName(value, stages);
  if (stage !== undefined) return stage;
  throw new DecodeError(
    `session message header has stage ${describeWireValue(value)}, which is not a stage of a ${type} session (${stages.map((x, i) => `${i} = "${x}"`).join(", ")})`,
  );
}

/**
 * Checks the ten header fields at the start of `h` (both wire versions share them) and answers the
 * message's session type, `null` for a plain message. The stage is checked where it is read
 * ({@link headerOf}, {@link messageOf}). Anything wrong raises {@link DecodeError}.
 * @example
 * ```ts
 * const type = checkFields(fields, WIRE_VERSION);
 * const message = messageOf(fields, type, fields[10]);
 * ```
 */
export function checkFields(h: readonly unknown[], expectedVersion: number): SessionType | null {
  const version = h[0];
  const flags = h[1];
  const count = h[9];
  if (version !== expectedVersion) {
    throw new DecodeError(
      `wire version ${String(version)} is not supported here (this weft speaks ${WIRE_VERSION} and reads ${LEGACY_WIRE_VERSION}; ` +
        `a version ${LEGACY_WIRE_VERSION} header has 10 fields, a version ${WIRE_VERSION} one 11)`,
    );
  }
  if (typeof flags !== "number" || !Number.isInteger(flags))
    throw new DecodeError("header flags are not an integer");
  if (typeof h[2] !== "string") throw new DecodeError("header field tag is not a string");
  if (typeof h[3] !== "string") throw new DecodeError("header field source is not a string");
  if (typeof h[4] !== "string") throw new DecodeError("header field destination is not a string");
  if (typeof h[5] !== "string") throw new DecodeError("header field sessionId is not a string");
  if (typeof h[6] !== "string") throw new DecodeError("header field messageId is not a string");
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw new DecodeError("header attachment count is not a non-negative integer");
  }
  return (flags & FLAG_SESSION) !== 0 ? sessionTypeFromWire(h[7]) : null;
}

/**
 * The {@link WireHeader} of fields that passed {@link checkFields} (which answered `type`).
 * @example
 * ```ts
 * const header = headerOf(fields, checkFields(fields, LEGACY_WIRE_VERSION));
 * ```
 */
export function headerOf(h: readonly unknown[], type: SessionType | null): WireHeader {
  return {
    version: h[0] as number,
    flags: h[1] as number,
    tag: h[2] as string,
    source: h[3] as string,
    destination: h[4] as string,
    sessionId: h[5] as string,
    messageId: h[6] as string,
    sessionType: type,
    sessionStage: type === null ? null : sessionStageFromWire(type, h[8]),
    attachmentCount: h[9] as number,
  };
}

/**
 * The message of fields that passed {@link checkFields} (which answered `type`), carrying `payload`.
 * Built straight from the fields: a received message makes no header object on its way.
 * @example
 * ```ts
 * const message = messageOf(fields, checkFields(fields, WIRE_VERSION), fields[10]);
 * ```
 */
export function messageOf(h: readonly unknown[], type: SessionType | null, payload: unknown): Message {
  // Two literals rather than one spread into the other: this runs for every received message.
  if (type === null) {
    return new Message({
      tag: h[2] as string,
      source: h[3] as string,
      destination: h[4] as string,
      payload,
      sessionId: h[5] as string,
      messageId: h[6] as string,
    });
  }
  return new SessionMessage({
    tag: h[2] as string,
    source: h[3] as string,
    destination: h[4] as string,
    payload,
    sessionId: h[5] as string,
    messageId: h[6] as string,
    sessionType: type,
    sessionStage: sessionStageFromWire(type, h[8]),
  });
}
