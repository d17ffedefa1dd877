/**
 * Handing a node's queued tasks to it: pumped onto its Session stream for as long as the stream lasts
 * (small tasks queued together travel as one batch frame when the node understands batches), or one
 * task per GetTaskUnary long poll for a node in "poll" mode.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { DecodeError } from "../core/errors.ts";
import { singleChunkParts } from "./chunking.ts";
import type { AgentStore, NodeAgent, QueuedTask } from "./node-agent.ts";
import type { ChunkFrame, NodeFrame, ResearcherFrame, TaskRequestFrame } from "./protocol.ts";
import type { ReplyRegistry } from "./replies.ts";
import { waitDrain } from "./drain.ts";
import { peerIdentityError, type ServerTlsOptions } from "./server-tls.ts";
import { writeChunks } from "./write-chunks.ts";

/** Most tasks in one batch frame. */
const MAX_BATCH = 64;
/** A batch frame stops growing past this many bytes. */
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * Writes the tasks of `agent` on `call` until `signal` aborts or the stream ends. Each task written is
 * put in flight; when the stream ends, detaching the agent queues those again.
 * @param batches the node speaks a protocol version with batch frames
 * @example
 * ```ts
 * void pumpTasks(agent, call, abort.signal, replies, hello.protocolVersion >= BATCH_PROTOCOL_VERSION);
 * ```
 */
export async function pumpTasks(
  agent: NodeAgent,
  call: grpc.ServerDuplexStream<NodeFrame, ResearcherFrame>,
  signal: AbortSignal,
  replies: ReplyRegistry,
  batches: boolean,
): Promise<void> {
  const wrap = (c: ChunkFrame): ResearcherFrame => ({ chunk: c });
  for (;;) {
    if (signal.aborted) return;
    // Take queued tasks without awaiting while there are some; wait only when the queue is empty.
    const task = agent.poll() ?? (await agent.next(signal));
    if (task === undefined) return;
    if (!replies.isPending(task.requestId)) continue; // flushed while queued
    agent.inFlight.set(task.requestId, task);
    if (batches && task.prepared.count === 1 && agent.queue.length > 0) {
      // Several small tasks queued at once travel as one frame (one gRPC message instead of many).
      const batch = [taskChunk(task)];
      let bytes = task.prepared.totalBytes;
      while (batch.length < MAX_BATCH && bytes < MAX_BATCH_BYTES) {
        const next = agent.poll();
        if (next === undefined) break;
        if (!replies.isPending(next.requestId)) continue;
        if (next.prepared.count !== 1) {
          agent.queue.unshift(next);
          break;
        }
        agent.inFlight.set(next.requestId, next);
        batch.push(taskChunk(next));
        bytes += next.prepared.totalBytes;
      }
      if (batch.length > 1) {
        const written = call.write({ batch: { chunks: batch } }) || (await waitDrain(call, signal));
        if (!written) return;
        continue;
      }
    }
    let ok = writeChunks(call, signal, task.prepared, task.requestId, "TASK", wrap);
    if (ok !== true) ok = await ok;
    if (!ok) return; // detach() re-queues what is in flight
  }
}

/**
 * Serves one GetTaskUnary long poll: registers the node (it counts as attached while the poll waits)
 * and writes it the next task queued within its wait, if any, before ending the call.
 * @example
 * ```ts
 * server.addService(researcherService(), { GetTaskUnary: (call) => void deliverPolledTask(call, agents, tls) });
 * ```
 */
export async function deliverPolledTask(
  call: grpc.ServerWritableStream<TaskRequestFrame, ChunkFrame>,
  agents: AgentStore,
  tls: ServerTlsOptions | undefined,
): Promise<void> {
  const { nodeId, waitMs } = call.request;
  const identityError =
    nodeId === "" ? new DecodeError("GetTaskUnary needs a node id") : peerIdentityError(tls, call, nodeId);
  if (identityError !== undefined) {
    call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: identityError.message });
    return;
  }
  const agent = agents.retrieve(nodeId);
  agent.attach();
  // Headers now tell the polling node it is registered (its "connected"), before any task comes.
  call.sendMetadata(new grpc.Metadata());
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.min(waitMs || 30_000, 300_000));
  call.on("cancelled", () => abort.abort());
  try {
    const task = await agent.next(abort.signal);
    if (task !== undefined) {
      agent.inFlight.set(task.requestId, task);
      const ok = await writeChunks(call, abort.signal, task.prepared, task.requestId, "TASK", (c) => c);
      if (ok) agent.inFlight.delete(task.requestId);
    }
  } finally {
    clearTimeout(timer);
    agent.detach();
    call.end();
  }
}

function taskChunk(task: QueuedTask): ChunkFrame {
  return {
    messageId: task.requestId,
    index: 0,
    count: 1,
    data: EMPTY,
    parts: singleChunkParts(task.prepared),
    kind: "TASK",
  };
}

/** The data of a single chunk, whose bytes travel in `parts` instead. */
const EMPTY = new Uint8Array(0);
