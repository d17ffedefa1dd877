/**
 * The one read loop of a ZeroMQ socket (zeromq.js allows a single pending `receive()` per socket).
 * @module
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Readable } from "zeromq";
import { TurnBudget } from "./turn-budget.ts";

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
 * Options of {@link readLoop}.
 * @example
 * ```ts
 * const done = readLoop(pull, onFrames, onError, { receiveWithoutCheck: true });
 * ```
 */
export interface ReadLoopOptions {
  /**
   * While messages keep coming, take the next one without first asking ZeroMQ whether one is there.
   * zeromq.js checks the socket's events before every receive that may wait, a system call that costs
   * about a third of a small message's receive (measured: 2.65 → 1.9 µs of the reading thread per
   * message in a stream). Asking without the check fails, expensively (about 5 µs), when nothing is
   * there, so after such a miss the loop goes back to waiting receives for 2, 4, … up to 64 messages
   * before it tries again, and only a run of 16 messages taken without the check counts as a stream
   * again: a stream is read without the check, and sparse or paired messages (a request and its reply,
   * the replies of a scatter) settle at one miss in 64 or so. The loop owns the socket's `receiveTimeout`
   * then. Default false.
   */
  receiveWithoutCheck?: boolean;
}

/** Longest run of waiting receives, as a power of two, after misses of the unchecked receive. */
const MAX_WAIT_EXPONENT = 6;
/** Messages taken without the check in a row that make a stream (and forget earlier misses). */
const STREAM_RUN = 16;
/**
 * Messages taken without the check before the loop waits for the next turn of the event loop. Such a
 * receive never goes through the event loop (zeromq.js defers every 512th checked receive, not these), so
 * a stream that never runs dry would otherwise starve timers and I/O: heartbeats stop, and the peers
 * declare this process dead.
 */
const RECEIVES_PER_TURN = 256;

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
  options: ReadLoopOptions = {},
): Promise<void> {
  const adaptive = options.receiveWithoutCheck === true;
  let unchecked = false; // the socket's receiveTimeout is 0 (receive without the check)
  let misses = 0; // unchecked receives that found nothing, since the last stream
  let run = 0; // messages taken without the check in a row
  let waitsLeft = 0; // waiting receives to do before the next unchecked one
  const turns = new TurnBudget(RECEIVES_PER_TURN); // messages taken without the check since the last turn
  while (!socket.closed) {
    let frames: Buffer[];
    if (adaptive && unchecked !== (waitsLeft === 0)) {
      unchecked = waitsLeft === 0;
      socket.receiveTimeout = unchecked ? 0 : -1;
    }
    try {
      frames = await socket.receive();
      if (unchecked) {
        if (++run >= STREAM_RUN) misses = 0;
        if (turns.spend()) await nextTurn();
      } else if (waitsLeft > 0) waitsLeft--;
    } catch (err) {
      if (socket.closed) return;
      if ((err as { code?: string }).code === "EAGAIN") {
        if (unchecked) {
          run = 0;
          misses = Math.min(misses + 1, MAX_WAIT_EXPONENT);
          waitsLeft = 2 ** misses;
        }
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
