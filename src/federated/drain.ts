/**
 * Waiting for a gRPC stream's write buffer to drain, without hanging when the stream goes away.
 * @module
 */

/** The part of a Node.js writable stream that {@link waitDrain} listens to. */
export interface DrainableStream {
  once(event: "drain" | "close" | "error", listener: () => void): unknown;
  off(event: "drain" | "close" | "error", listener: () => void): unknown;
}

/**
 * Resolves true on the stream's next `drain`; false when it closes or fails first, or `signal` aborts.
 * @example
 * ```ts
 * if (!call.write(frame) && !(await waitDrain(call, abort.signal))) return; // the stream is gone
 * ```
 */
export function waitDrain(stream: DrainableStream, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (value: boolean) => (): void => {
      stream.off("drain", onDrain);
      stream.off("close", onEnd);
      stream.off("error", onEnd);
      signal?.removeEventListener("abort", onEnd);
      resolve(value);
    };
    const onDrain = done(true);
    const onEnd = done(false);
    stream.once("drain", onDrain);
    stream.once("close", onEnd);
    stream.once("error", onEnd);
    signal?.addEventListener("abort", onEnd, { once: true });
  });
}
