// What a message stream accepts from its peer, decoded: a cap on every message, larger caps for the
// few message types that carry records, and a bound on how far a compressed frame may inflate. Each
// protocol declares the caps of what it receives in its messages file; the codec checks them before
// anything is parsed, so the work a frame costs is bounded by its type's cap and by the bytes the
// peer actually sent.

/**
 * Largest ratio of a frame's inflated size to its compressed size. JSON at deflate level 1 (what
 * senders use) measured 5-7x for batches of typical resources and 16.5x for the benchmarks' padded
 * ones; a value of repeated characters reaches 100-200x, and zlib allows 1032x, which is what a
 * decompression bomb uses. Senders send such a frame plain instead (codec.ts), so the bound costs
 * them bandwidth on freak payloads, never a refusal; 32 leaves twice the measured room for peers of
 * earlier releases, which compress whatever the ratio. A frame of n compressed bytes therefore costs
 * at most 32 n bytes of inflation and parsing.
 */
export const INFLATE_RATIO_MAX = 32;

/** Cap of the small messages of every protocol: hellos, byes, errors, subscriptions, put replies. */
export const SMALL_MESSAGE_BYTES_MAX = 4 * 1024;

/** The decoded-size caps of what a stream receives. */
export interface InboundCaps {
  /** Largest decoded message of a type not in messageBytesMaxByType, or whose type cannot be read, bytes. */
  messageBytesMax: number;
  /**
   * Caps of named message types (the `t` field, which every sender writes first), bytes. A type
   * listed here may be larger or smaller than messageBytesMax.
   */
  messageBytesMaxByType?: Readonly<Record<string, number>>;
}

/** The largest message `caps` admit, bytes: no frame may inflate past it. */
export function largestMessageBytes(caps: InboundCaps): number {
  let max = caps.messageBytesMax;
  for (const n of Object.values(caps.messageBytesMaxByType ?? {})) max = Math.max(max, n);
  return max;
}

/** Caps admitting what any of `parts` admits (a stream that carries several protocols' messages). */
export function mergeCaps(...parts: InboundCaps[]): InboundCaps {
  const types = new Set(parts.flatMap((p) => Object.keys(p.messageBytesMaxByType ?? {})));
  const byType: Record<string, number> = {};
  // A type one part does not list falls under that part's messageBytesMax.
  for (const t of types) byType[t] = Math.max(...parts.map((p) => p.messageBytesMaxByType?.[t] ?? p.messageBytesMax));
  return { messageBytesMax: Math.max(...parts.map((p) => p.messageBytesMax)), messageBytesMaxByType: byType };
}
