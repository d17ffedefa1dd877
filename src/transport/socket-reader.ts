/**
 * The one read loop of a ZeroMQ socket (zeromq.js allows a single pending `receive()` per socket).
 * @module
 */
import type { Readable } from "zeromq";

/**
 * Handler of one received multipart message. Returning a promise pauses reading until it settles.
 * @example
 * ```ts
 * const onFrames: FramesHandler = async (frames) => {
 *   await handle(decodeMessage(frames));
 * };
 * const done = readLoop(pull, onFrames);
 * ```
 */
export type FramesHandler = (frames: Buffer[]) => void | Promise<void>;

/**
 * Reads `socket` until it is closed, handing every message to `onFrames`. A handler that throws does not
 * stop the loop: the error goes to `onError`. Resolves when the socket is closed.
 *
 * @example
 * ```ts
 * const done = readLoop(pull, (frames) => inbox.push(frames), (err) => log.warn(String(err)));
 * pull.close(); await done;
 * ```
 */
export async function readLoop(
  socket: Readable & { closed: boolean },
  onFrames: FramesHandler,
  onError: (err: unknown) => void = () => {},
): Promise<void> {
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (err) {
      if (socket.closed || (err as { code?: string }).code === "EAGAIN") {
        if (socket.closed) return;
        continue;
      }
      onError(err);
      return;
    }
    try {
      const pending = onFrames(frames);
      if (pending !== undefined) await pending;
    } catch (err) {
      onError(err);
    }
  }
}
