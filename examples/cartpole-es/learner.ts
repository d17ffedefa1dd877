/**
 * The learner of the CartPole ES example. Each iteration it broadcasts the policy parameters (a
 * Float32Array) to the actors, scatters the perturbation seeds among them, gathers their returns with
 * the conditional event `actor:returns:100%`, and takes one ES step. It stops once the policy balances
 * the pole for 500 steps on every check episode, then reports the evaluation score over 20 new episodes.
 * @module
 */
import type { Message } from "../../src/core/message.ts";
import { SessionType } from "../../src/core/message.ts";
import type { JobContext } from "../../src/launch/context.ts";
import { RegisterTable } from "../../src/proxy/register-table.ts";
import { DEFAULT_CONFIG, EsLearner, type EvaluateResult } from "./es.ts";

/** Value of `--name value` in `args`. */
export function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Formats the final line; tests and the benchmark read it. */
export function scoreLine(score: number, episodes: number, iterations: number, seconds: number): string {
  return `evaluation: average return ${score.toFixed(1)} over ${episodes} episodes after ${iterations} iterations in ${seconds.toFixed(2)} s`;
}

/** Runs the learner (`run: ./learner.ts#main` in job.yaml). */
export async function main(ctx: JobContext): Promise<void> {
  const seed = Number(argValue(ctx.args, "--seed") ?? DEFAULT_CONFIG.seed);
  const actors = ctx.peerNames("actor");
  const proxy = await ctx.createProxy({ expectedPeers: { actor: actors.length } });
  const es = new EsLearner({ ...DEFAULT_CONFIG, seed });
  const table = new RegisterTable(proxy);
  let gathered: Message[] | undefined;
  table.registerEventHandler("actor:returns:100%", (messages) => {
    gathered = messages;
  });
  console.log(
    `learner: seed ${seed}, ${actors.length} actors, ${es.config.pairs} antithetic pairs per iteration`,
  );
  const start = performance.now();
  let iterations = 0;
  for (let it = 0; it < es.config.maxIterations && !ctx.signal.aborted; it++) {
    iterations = it + 1;
    const { noiseSeeds, episodeSeeds } = es.plan(it);
    await proxy.ibroadcast("actor", "params", SessionType.NOTIFICATION, { iteration: it, params: es.params });
    const tasks = es.tasks(it, noiseSeeds, episodeSeeds, actors.length);
    await proxy.iscatter(
      "evaluate",
      SessionType.TASK,
      actors.map((name, i) => [name, tasks[i]]),
    );
    gathered = undefined;
    for await (const message of proxy.receive({ timeoutMs: 30_000 })) {
      table.push(message);
      for (const [handler, messages] of table.get()) handler(messages);
      if (gathered) break;
    }
    if (!gathered) throw new Error(`iteration ${it}: the actors' returns did not all arrive within 30 s`);
    const results = (gathered as Message[]).map((m) => m.payload as EvaluateResult);
    const { mean, best } = es.update(noiseSeeds, results);
    const seconds = (performance.now() - start) / 1000;
    const stats = proxy.getStats();
    const rate = (stats.messagesSent + stats.messagesReceived) / seconds;
    console.log(
      `iteration ${String(iterations).padStart(3)} | mean return ${mean.toFixed(1).padStart(5)} | best return ${String(best).padStart(3)} | ${rate.toFixed(0)} msg/s`,
    );
    if (es.solved(it)) break;
  }
  const score = es.evaluate();
  console.log(`params: ${Array.from(es.params, (p) => p.toFixed(6)).join(" ")}`);
  console.log(scoreLine(score, es.config.evaluationEpisodes, iterations, (performance.now() - start) / 1000));
  // Tell the actors to stop and wait until they have left, so none is left waiting for work.
  await proxy.ibroadcast("actor", "stop", SessionType.NOTIFICATION, null);
  const deadline = Date.now() + 10_000;
  while ((proxy.peersName.actor ?? []).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await proxy.close();
  if (score < 475) throw new Error(`the policy scored ${score.toFixed(1)}, below 475`);
}
