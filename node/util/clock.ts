// The clock of the failure detector. It runs on a monotonic clock so that wall-clock steps (NTP, an
// operator's `date -s`) do not touch it at all; certificate validity and HLC stamps use the wall
// clock (Date.now()), which is what they are defined against.

/** Milliseconds on a monotonic clock, expressed near Unix time (readable in events, never steps). */
export function monotonicMs(): number {
  return performance.timeOrigin + performance.now();
}
