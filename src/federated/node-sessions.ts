/**
 * The Session streams of the nodes connected to a researcher: the Hello handshake, the frames a node
 * sends on its stream (replies, acks, feedback, overlay messages), the relay of overlay messages to
 * another node's stream and the publication of the nodes' overlay keys. One stream per node: a node
 * that reconnects replaces its older stream.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { DecodeError, type AuthenticationError } from "../core/errors.ts";
import type { LoggerLike } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import { Reassembler } from "./chunking.ts";
import type { AgentStore, NodeAgent } from "./node-agent.ts";
import {
  BATCH_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type ChunkFrame,
  type FeedbackFrame,
  type NodeFrame,
  type OverlayFrame,
  type ResearcherFrame,
} from "./protocol.ts";
import type { ReplyRegistry } from "./replies.ts";
import { AckBatcher } from "./ack-batcher.ts";
import { pumpTasks } from "./task-delivery.ts";

type SessionCall = grpc.ServerDuplexStream<NodeFrame, ResearcherFrame>;

/** One node's open Session stream. */
interface Session {
  call: SessionCall;
  abort: AbortController;
  acks: AckBatcher;
}

/**
 * What the Session streams need of their researcher.
 * @example
 * ```ts
 * const sessions = new NodeSessions({
 *   researcherId: "r1", agents, replies, log, options: { overlayHook: undefined },
 *   identityError: () => undefined,
 *   onFeedback: (feedback, nodeId) => log.info(`feedback from ${nodeId}`),
 *   onMessage: (nodeId, chunk, message) => replies.resolve(nodeId, chunk.requestId, message),
 * });
 * ```
 */
export interface NodeSessionsHost {
  /** Id announced to nodes in the Welcome. */
  readonly researcherId: string;
  readonly agents: AgentStore;
  readonly replies: ReplyRegistry;
  readonly log: LoggerLike;
  /** Read at every relay, like the rest of the researcher's options. */
  readonly options: {
    readonly overlayHook?: ((overlay: OverlayFrame) => OverlayFrame | undefined) | undefined;
  };
  /** Why the node on `call` may not use `nodeId`, or undefined when it may. */
  identityError(call: SessionCall, nodeId: string): AuthenticationError | undefined;
  /** A log record or scalar the node sent on its stream. */
  onFeedback(feedback: FeedbackFrame, nodeId: string): void;
  /** A reply or message of the node, reassembled from its chunks. */
  onMessage(nodeId: string, chunk: ChunkFrame, message: Message): void;
}

/**
 * The open Session streams of a researcher, by node id.
 * @example
 * ```ts
 * const sessions = new NodeSessions(host);
 * server.addService(researcherService(), { Session: (call) => sessions.open(call), ... });
 * // on stop:
 * sessions.closeAll();
 * ```
 */
export class NodeSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly host: NodeSessionsHost) {}

  /** Serves one Session call: its first frame must be the node's Hello. */
  open(call: SessionCall): void {
    let nodeId: string | undefined;
    let agent: NodeAgent | undefined;
    const abort = new AbortController();
    const reassembler = new Reassembler();
    const session: Session = { call, abort, acks: new AckBatcher(call) };
    const end = (): void => {
      if (abort.signal.aborted && agent === undefined) return;
      abort.abort();
      reassembler.clear();
      if (nodeId !== undefined && this.sessions.get(nodeId) === session) this.sessions.delete(nodeId);
      const a = agent;
      agent = undefined;
      a?.detach();
    };
    call.on("error", end);
    call.on("close", end);
    call.on("end", () => {
      end();
      call.end();
    });
    call.on("data", (frame: NodeFrame) => {
      try {
        if (nodeId === undefined) {
          if (frame.kind !== "hello" || frame.hello === undefined || frame.hello.nodeId === "") {
            throw new DecodeError("the first frame of a Session must be a Hello with a node id");
          }
          const identityError = this.host.identityError(call, frame.hello.nodeId);
          if (identityError !== undefined) {
            this.host.log.warn(identityError.message);
            call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: identityError.message });
            return;
          }
          nodeId = frame.hello.nodeId;
          const old = this.sessions.get(nodeId);
          if (old !== undefined) {
            old.abort.abort();
            old.call.end();
          }
          this.sessions.set(nodeId, session);
          agent = this.host.agents.retrieve(nodeId);
          if (frame.hello.publicKey !== undefined && frame.hello.publicKey.byteLength > 0)
            agent.publicKey = frame.hello.publicKey;
          agent.attach();
          call.write({
            welcome: { researcherId: this.host.researcherId, protocolVersion: PROTOCOL_VERSION },
          });
          this.publishKeys();
          const batches = frame.hello.protocolVersion >= BATCH_PROTOCOL_VERSION;
          void pumpTasks(agent, call, abort.signal, this.host.replies, batches);
          return;
        }
        this.onNodeFrame(nodeId, agent, session, reassembler, frame);
      } catch (err) {
        this.host.log.warn(`session of node ${nodeId ?? "?"}: ${(err as Error).message}; stream closed`);
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
      }
    });
  }

  /** Ends every stream (the researcher stops). */
  closeAll(): void {
    for (const s of this.sessions.values()) {
      s.abort.abort();
      s.call.end();
    }
    this.sessions.clear();
  }

  private onNodeFrame(
    nodeId: string,
    agent: NodeAgent | undefined,
    session: Session,
    reassembler: Reassembler,
    frame: NodeFrame,
  ): void {
    switch (frame.kind) {
      case "ack":
        for (const id of frame.ack?.messageIds ?? []) agent?.inFlight.delete(id);
        return;
      case "chunk":
        this.onNodeChunk(nodeId, session, reassembler, frame.chunk as ChunkFrame);
        return;
      case "batch":
        for (const c of frame.batch?.chunks ?? []) this.onNodeChunk(nodeId, session, reassembler, c);
        return;
      case "feedback":
        this.host.onFeedback(frame.feedback as FeedbackFrame, nodeId);
        return;
      case "overlay":
        this.relay(nodeId, frame.overlay as OverlayFrame, session.call);
        return;
      default:
        throw new DecodeError(`unexpected frame ${String(frame.kind)} from node ${nodeId}`);
    }
  }

  private onNodeChunk(nodeId: string, session: Session, reassembler: Reassembler, c: ChunkFrame): void {
    const message = reassembler.push(c.messageId, c.index, c.count, c.data);
    if (message === undefined) return;
    this.host.onMessage(nodeId, c, message);
    session.acks.push(c.messageId);
  }

  private relay(nodeId: string, overlay: OverlayFrame, from: SessionCall): void {
    if (overlay.sourceNodeId !== nodeId) {
      from.write({
        notice: {
          code: "OVERLAY_SOURCE",
          text: `overlay source "${overlay.sourceNodeId}" is not the sending node "${nodeId}"; dropped`,
          refId: "",
        },
      });
      return;
    }
    const dest = this.sessions.get(overlay.destNodeId);
    if (dest === undefined) {
      this.host.log.warn(
        `overlay from ${nodeId} to unknown or unconnected node ${overlay.destNodeId}; dropped`,
      );
      from.write({
        notice: {
          code: "OVERLAY_UNKNOWN_DEST",
          text: `node "${overlay.destNodeId}" is not connected; overlay dropped`,
          refId: overlay.destNodeId,
        },
      });
      return;
    }
    const options = this.host.options;
    const out = options.overlayHook === undefined ? overlay : options.overlayHook(overlay);
    if (out !== undefined) dest.call.write({ overlay: out });
  }

  /** Sends every known overlay key to every connected node (a node that just said Hello may bring one). */
  private publishKeys(): void {
    const keys = [...this.host.agents.getAll().values()]
      .filter((a) => a.publicKey !== undefined)
      .map((a) => ({ nodeId: a.id, publicKey: a.publicKey as Uint8Array }));
    if (keys.length === 0) return;
    for (const s of this.sessions.values()) s.call.write({ peerKeys: { keys } });
  }
}
