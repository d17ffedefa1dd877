/**
 * Copying a message for another node: what the researcher sends when one message goes to several
 * nodes, or when a message whose id is already a request is sent again, since a request id must stay
 * unique to match its reply.
 * @module
 */
import { Message, SessionMessage } from "../core/message.ts";

/**
 * A copy of `message` addressed to `nodeId`, with a new message id and the same session.
 * @example
 * ```ts
 * const copy = retarget(message, "n2");
 * copy.destination; // "n2"
 * copy.messageId !== message.messageId; // true
 * ```
 */
export function retarget(message: Message, nodeId: string): Message {
  const init = {
    tag: message.tag,
    source: message.source,
    destination: nodeId,
    payload: message.payload,
    sessionId: message.sessionId,
  };
  if (message instanceof SessionMessage) {
    return new SessionMessage({
      ...init,
      sessionType: message.sessionType,
      sessionStage: message.sessionStage,
    });
  }
  return new Message(init);
}
