// Round-trip time of one member: smoothed like TCP's SRTT (RFC 6298, alpha = 1/8), plus the last
// and the smallest sample. Latency-aware agent failover compares the smoothed value.

/** Largest RTT sample accepted, in milliseconds; anything above is a broken measurement. */
export const RTT_MS_MAX = 60_000;

/** Read-only RTT figures of one member. */
export interface RttFigures {
  /** Smoothed round-trip time, milliseconds. */
  smoothedMs: number;
  /** Last sample, milliseconds. */
  lastMs: number;
  /** Smallest sample seen, milliseconds. */
  minMs: number;
  /** Samples taken. */
  samples: number;
}

/** True when `ms` is an acceptable RTT sample. */
export function isRttSample(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= RTT_MS_MAX;
}

/** Fold one (already validated) sample into the figures; returns new figures. */
export function addRttSample(prev: RttFigures | undefined, ms: number): RttFigures {
  if (prev === undefined) return { smoothedMs: ms, lastMs: ms, minMs: ms, samples: 1 };
  return {
    smoothedMs: prev.smoothedMs + (ms - prev.smoothedMs) / 8,
    lastMs: ms,
    minMs: Math.min(prev.minMs, ms),
    samples: prev.samples + 1,
  };
}
