/**
 * Federated averaging over weft's federated transport: a researcher sends a Float32Array linear model to
 * three nodes, each runs a few gradient steps on its own synthetic data and returns its weights, and the
 * researcher averages them (weighted by sample count). Run: `node --import tsx examples/federated-averaging/averaging.ts`.
 */
import { ResearcherServer, NodeClient } from "../../src/federated/index.ts";
import { Message } from "../../src/core/message.ts";
import { DummyLogger } from "../../src/core/logger.ts";

const DIM = 4;
const TRUE_W = [1.5, -2, 0.5, 3, 0.25]; // 4 weights + bias

/** Local data of one node: `n` samples, deterministic per seed. */
function localData(seed: number, n: number): { x: Float32Array; y: Float32Array } {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const x = new Float32Array(n * DIM);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = TRUE_W[DIM] as number;
    for (let j = 0; j < DIM; j++) {
      const xv = rand() + seed * 0.1; // each node's data is shifted: non-IID
      x[i * DIM + j] = xv;
      v += (TRUE_W[j] as number) * xv;
    }
    y[i] = v + rand() * 0.05;
  }
  return { x, y };
}

function loss(w: Float32Array, d: { x: Float32Array; y: Float32Array }): number {
  let sum = 0;
  for (let i = 0; i < d.y.length; i++) {
    let p = w[DIM] as number;
    for (let j = 0; j < DIM; j++) p += (w[j] as number) * (d.x[i * DIM + j] as number);
    sum += (p - (d.y[i] as number)) ** 2;
  }
  return sum / d.y.length;
}

/** A few steps of gradient descent on the mean squared error. */
function train(
  w0: Float32Array,
  d: { x: Float32Array; y: Float32Array },
  steps: number,
  lr: number,
): Float32Array {
  const w = Float32Array.from(w0);
  const n = d.y.length;
  for (let s = 0; s < steps; s++) {
    const g = new Float64Array(DIM + 1);
    for (let i = 0; i < n; i++) {
      let p = w[DIM] as number;
      for (let j = 0; j < DIM; j++) p += (w[j] as number) * (d.x[i * DIM + j] as number);
      const e = p - (d.y[i] as number);
      for (let j = 0; j < DIM; j++) g[j] = (g[j] as number) + (2 * e * (d.x[i * DIM + j] as number)) / n;
      g[DIM] = (g[DIM] as number) + (2 * e) / n;
    }
    for (let j = 0; j <= DIM; j++) w[j] = (w[j] as number) - lr * (g[j] as number);
  }
  return w;
}

/** Result of {@link runFederatedAveraging}. */
export interface AveragingResult {
  /** Weighted mean loss of the global model at the start of each round. */
  losses: number[];
  /** Node ids that answered, per round. */
  participants: string[][];
  weights: Float32Array;
}

/** Runs `rounds` of federated averaging over `nodes` in-process nodes on loopback gRPC. */
export async function runFederatedAveraging(rounds = 5, nodes = 3, print = false): Promise<AveragingResult> {
  const server = new ResearcherServer({ logger: new DummyLogger() });
  const { port } = await server.start();
  const clients = Array.from({ length: nodes }, (_, i) => {
    const data = localData(i + 1, 200 + 50 * i);
    return new NodeClient({
      nodeId: `hospital-${i}`,
      researchers: [{ host: "127.0.0.1", port }],
      logger: new DummyLogger(),
      onTask: (task) => {
        const w = task.payload as Float32Array;
        return { weights: train(w, data, 10, 0.05), samples: data.y.length, loss: loss(w, data) };
      },
    });
  });
  try {
    for (const c of clients) c.start();
    await Promise.all(clients.map((c) => c.waitConnected()));
    let w = new Float32Array(DIM + 1);
    const result: AveragingResult = { losses: [], participants: [], weights: w };
    for (let round = 0; round < rounds; round++) {
      const replies = await Promise.all(
        clients.map(async (c) => {
          const r = await server.request(
            new Message({ tag: "train", source: "researcher", destination: c.nodeId, payload: w }),
            c.nodeId,
            { timeoutMs: 10_000 },
          );
          return {
            node: c.nodeId,
            ...(r.payload as { weights: Float32Array; samples: number; loss: number }),
          };
        }),
      );
      const total = replies.reduce((s, r) => s + r.samples, 0);
      const next = new Float32Array(DIM + 1);
      for (const r of replies)
        for (let j = 0; j <= DIM; j++)
          next[j] = (next[j] as number) + ((r.weights[j] as number) * r.samples) / total;
      result.losses.push(replies.reduce((s, r) => s + (r.loss * r.samples) / total, 0));
      result.participants.push(replies.map((r) => r.node));
      w = next;
      if (print)
        console.log(`round ${round + 1}: loss ${result.losses[round]?.toFixed(4)} (${replies.length} nodes)`);
    }
    result.weights = w;
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  await runFederatedAveraging(5, 3, true);
}
