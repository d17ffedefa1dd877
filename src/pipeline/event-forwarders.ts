/**
 * The remote half of a task's events. While the task is linked into a job, every event that has a local
 * listener has one forwarder on the job's router, which hands that event, emitted by any other node, to
 * the local listeners. The forwarder goes when the event's last listener does, so the router buffers or
 * drops what nobody listens to.
 * @module
 */
import type { EventLoop } from "./event-loop.ts";
import type { TaskRouter } from "./router-link.ts";

/**
 * The router a task is linked to and the events forwarded from it into the task's {@link EventLoop}.
 * @example
 * ```ts
 * const loop = new EventLoop();
 * const forwarders = new EventForwarders(loop);
 * loop.on("model.updated", (version: number) => console.log(version));
 * forwarders.link(getActiveRouter());
 * forwarders.forwardAll(); // other nodes' "model.updated" events now reach the listener
 * ```
 */
export class EventForwarders {
  readonly #loop: EventLoop;
  #router: TaskRouter | undefined;
  /** Events whose forwarder is installed on the router. */
  #forwarded = new Set<string>();

  constructor(loop: EventLoop) {
    this.#loop = loop;
  }

  /** The router, while it is linked into a job. */
  get router(): TaskRouter | undefined {
    return this.#router?.isActive === true ? this.#router : undefined;
  }

  /**
   * Uses `router` (none: `undefined`) from now on. Nothing is forwarded yet: the caller chooses when
   * {@link forwardAll} runs, because installing a forwarder delivers what the router buffered for it.
   */
  link(router: TaskRouter | undefined): void {
    this.#router = router;
  }

  /** Installs the forwarder of every event that has a listener now. */
  forwardAll(): void {
    for (const name of this.#loop.eventNames()) this.forward(name);
  }

  /** Installs the forwarder of `event` if the router is linked and it has none yet. */
  forward(event: string): void {
    const router = this.router;
    if (router === undefined || this.#forwarded.has(event)) return;
    this.#forwarded.add(event);
    router.on(event, (args) => this.#loop.emit(event, ...args));
  }

  /** Removes the forwarders of `events` (the events left without any listener). */
  drop(events: readonly string[]): void {
    for (const name of events) {
      if (this.#forwarded.delete(name)) this.#router?.off(name);
    }
  }

  /** Removes every forwarder and forgets the router. */
  unlink(): void {
    for (const name of this.#forwarded) this.#router?.off(name);
    this.#forwarded.clear();
    this.#router = undefined;
  }
}
