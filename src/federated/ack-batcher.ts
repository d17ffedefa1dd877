/**
 * Acknowledging a node's replies in batches. An ack only lets the node forget replies it would
 * otherwise resend after a reconnect, so there is no hurry: one Ack frame for many replies saves a
 * write (and a gRPC message) per reply.
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import type { NodeFrame, ResearcherFrame } from "./protocol.ts";

/** Longest delay before received replies are acknowledged. */
const ACK_DELAY_MS = 50;
/** Replies acknowledged at once without waiting for the delay. */
const ACK_BATCH = 512;

/**
 * The ids of replies received on one Session stream and not acknowledged yet.
 * @example
 * ```ts
 * const acks = new AckBatcher(call);
 * acks.push(chunk.messageId); // written within 50 ms, with the ids that come meanwhile
 * ```
 */
export class AckBatcher {
  private ids: string[] = [];

  constructor(private readonly call: grpc.ServerDuplexStream<NodeFrame, ResearcherFrame>) {}

  /** Acknowledges `id` at most ACK_DELAY_MS from now, or at once when ACK_BATCH ids are waiting. */
  push(id: string): void {
    this.ids.push(id);
    if (this.ids.length >= ACK_BATCH) this.flush();
    else if (this.ids.length === 1) setTimeout(() => this.flush(), ACK_DELAY_MS).unref();
  }

  private flush(): void {
    if (this.ids.length === 0) return;
    const ids = this.ids;
    this.ids = [];
    if (!this.call.destroyed) this.call.write({ ack: { messageIds: ids } });
  }
}
