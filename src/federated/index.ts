/**
 * Federated transport (Fed-BioMed style): a gRPC researcher server, node agents and the node client.
 * @example
 * ```ts
 * import { ResearcherServer, NodeClient } from "weft/federated";
 * ```
 * @module
 */
export { ResearcherServer, retarget } from "./server.ts";
export type {
  ResearcherServerOptions,
  ServerTlsOptions,
  StartOptions,
  NodeEvent,
  NodeInfo,
} from "./server.ts";
export { NodeClient } from "./client.ts";
export type { NodeClientOptions, ClientTlsOptions, ResearcherAddress, TaskContext } from "./client.ts";
export { AgentStore, NodeAgent, NodeActiveStatus, DEFAULT_AGENT_OPTIONS } from "./node-agent.ts";
export type { AgentOptions, QueuedTask } from "./node-agent.ts";
export { ReplyRegistry } from "./replies.ts";
export type { ReplyCallback, RequestRecord } from "./replies.ts";
export { Reassembler, prepareChunks, prepareFrames, chunkData, DEFAULT_CHUNK_BYTES } from "./chunking.ts";
export {
  researcherService,
  researcherClientConstructor,
  PROTOCOL_VERSION,
  SERVICE_NAME,
} from "./protocol.ts";
export { OverlayKeys, overlayKeyFingerprint, generateOverlayPrivateKey } from "./overlay-crypto.ts";
export { OverlayPinSet } from "./overlay-pins.ts";
export type { OverlayPins, PinCheck } from "./overlay-pins.ts";
export { OverlayAssembler, cutOverlay } from "./overlay-chunks.ts";
export type { OverlayAssemblerOptions } from "./overlay-chunks.ts";
export type {
  ChunkFrame,
  NodeFrame,
  ResearcherFrame,
  OverlayFrame,
  FeedbackFrame,
  HelloFrame,
  AckFrame,
} from "./protocol.ts";
