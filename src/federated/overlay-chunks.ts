/**
 * Overlay messages larger than one chunk: cut into pieces on the sending node, joined on the receiving
 * one. The researcher relays each piece unchanged, so no gRPC message exceeds the chunk size however
 * large the overlay message (and, when encrypted, the pieces are ciphertext the relay cannot read).
 * @module
 */
import { DecodeError } from "../core/errors.ts";

/**
 * The pieces of `bytes`, each at most `chunkBytes` (views, not copies); one piece when it fits.
 * @example `cutOverlay(bytes, DEFAULT_CHUNK_BYTES).length // 1 for a small message`
 */
export function cutOverlay(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  if (bytes.byteLength <= chunkBytes) return [bytes];
  const pieces: Uint8Array[] = [];
  for (let off = 0; off < bytes.byteLength; off += chunkBytes)
    pieces.push(bytes.subarray(off, Math.min(bytes.byteLength, off + chunkBytes)));
  return pieces;
}

/**
 * Limits of an {@link OverlayAssembler}.
 * @example
 * ```ts
 * const assembler = new OverlayAssembler({ maxMessageBytes: 64 * 1024 * 1024, maxConcurrent: 4 });
 * ```
 */
export interface OverlayAssemblerOptions {
  /** Largest total size of one overlay message. Default 1 GiB. */
  maxMessageBytes?: number;
  /** Largest number of overlay messages being joined at once; the oldest is dropped past it. Default 16. */
  maxConcurrent?: number;
}

interface PartialMessage {
  count: number;
  next: number;
  bytes: number;
  pieces: Uint8Array[];
}

/**
 * Joins the pieces of overlay messages, keyed by source node and message id. Pieces must come in order
 * (one gRPC stream keeps it); anything inconsistent raises {@link DecodeError} and forgets that message.
 * @example
 * ```ts
 * const joined = assembler.push("a", "m1", 0, 2, piece0); // undefined
 * assembler.push("a", "m1", 1, 2, piece1); // the whole bytes
 * ```
 */
export class OverlayAssembler {
  private readonly partials = new Map<string, PartialMessage>();
  private readonly maxBytes: number;
  private readonly maxConcurrent: number;

  constructor(options: OverlayAssemblerOptions = {}) {
    this.maxBytes = options.maxMessageBytes ?? 1024 * 1024 * 1024;
    this.maxConcurrent = options.maxConcurrent ?? 16;
  }

  /** Number of messages partly received. */
  get pending(): number {
    return this.partials.size;
  }

  /** Forgets every partial message (the stream that carried them ended). */
  clear(): void {
    this.partials.clear();
  }

  /** Adds one piece; the whole message's bytes once its last piece arrived, else undefined. */
  push(
    source: string,
    messageId: string,
    index: number,
    count: number,
    piece: Uint8Array,
  ): Buffer | undefined {
    if (messageId === "") throw new DecodeError(`overlay piece from "${source}" has no message id`);
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count)
      throw new DecodeError(
        `overlay piece ${index}/${count} of ${messageId} from "${source}" is out of range`,
      );
    const key = `${source}\u0000${messageId}`;
    let p = this.partials.get(key);
    if (p === undefined) {
      if (index !== 0)
        throw new DecodeError(
          `overlay piece ${index} of ${messageId} from "${source}" arrived before piece 0`,
        );
      if (this.partials.size >= this.maxConcurrent) {
        // The oldest partial message is the one whose sender most likely went away mid-message.
        const oldest = this.partials.keys().next().value as string;
        this.partials.delete(oldest);
      }
      p = { count, next: 0, bytes: 0, pieces: [] };
      this.partials.set(key, p);
    }
    if (index !== p.next || count !== p.count) {
      this.partials.delete(key);
      throw new DecodeError(
        `overlay piece ${index}/${count} of ${messageId} from "${source}" does not follow piece ${p.next - 1}/${p.count}`,
      );
    }
    p.next++;
    p.bytes += piece.byteLength;
    if (p.bytes > this.maxBytes) {
      this.partials.delete(key);
      throw new DecodeError(
        `overlay message ${messageId} from "${source}" exceeds ${this.maxBytes} bytes; dropped`,
      );
    }
    p.pieces.push(piece);
    if (p.next < p.count) return undefined;
    this.partials.delete(key);
    return Buffer.concat(p.pieces, p.bytes);
  }
}
