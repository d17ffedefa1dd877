/**
 * An actor of the CartPole ES example: keeps the parameters the learner broadcasts, evaluates the
 * antithetic perturbations the learner sends it (rebuilt from their seeds), and replies with the returns.
 * @module
 */
import type { Message } from "../../src/core/message.ts";
import type { JobContext } from "../../src/launch/context.ts";
import { evaluateTask, type EvaluateTask } from "./es.ts";

/** Runs one actor (`run: ./actor.ts#main` in job.yaml). */
export async function main(ctx: JobContext): Promise<void> {
  const proxy = await ctx.createProxy({ expectedPeers: { learner: 1 } });
  const params = new Map<number, Float32Array>();
  // Broadcasts and tasks travel on different sockets: a task may arrive before its parameters.
  const waiting: Message[] = [];
  const work = async (message: Message): Promise<void> => {
    const task = message.payload as EvaluateTask;
    const p = params.get(task.iteration);
    if (!p) {
      waiting.push(message);
      return;
    }
    await proxy.reply(message, { tag: "returns", payload: evaluateTask(p, task) });
  };
  // Should the learner vanish without a "stop", leave too (closing the proxy ends the receive loop).
  const watch = setInterval(() => {
    if ((proxy.peersName.learner ?? []).length === 0) void proxy.close();
  }, 200);
  for await (const message of proxy.receive()) {
    if (message.tag === "stop") break;
    if (message.tag === "params") {
      const { iteration, params: p } = message.payload as { iteration: number; params: Float32Array };
      params.set(iteration, p);
      params.delete(iteration - 2);
      for (const m of waiting.splice(0)) await work(m);
    } else if (message.tag === "evaluate") {
      await work(message);
    }
  }
  clearInterval(watch);
  await proxy.close();
}
