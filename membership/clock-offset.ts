// How far each peer's clock is from ours: CockroachDB's max-offset check. A clock probe asks a peer for
// its clock and measures the round trip on our monotonic clock; the peer read its clock somewhere
// between our send (s) and our receipt (r), so with its reading w the offset lies in
// [w − ref(r), w − ref(s)]: offset ≈ w − (ref(r) − rtt/2), uncertainty rtt/2. However slow the
// network or either event loop, the interval holds the true offset; a slow probe only widens it.
// (One-way stamps, such as a heartbeat's, cannot give that: their delay is unbounded under load and
// makes the sender look behind.)
//
// What is compared. The probe answers with the peer's stamp height, max(its physical clock, its HLC's
// wall part) — what its next write is stamped with — and its physical clock. Ours, the reference, is
// the same quantity: max(our physical clock, our HLC). So an offset here is how far apart two
// controllers' write stamps are, which is what last-writer-wins orders by. Between probes the peer's
// stamp height is followed as max(its height then, its physical clock carried forward): a height above
// the physical clock (a clock set back after running ahead) stands still until real time passes it,
// and carrying it forward as if it advanced would hide a disagreement for up to a probe period.
//
// The estimate. Samples are anchored on our monotonic clock (w − midpoint of s and r), so a step of our
// own wall clock shows in the very next estimate (the reference moves, the samples do not). Of the
// recent samples the most precise counts, each one's uncertainty growing with its age by the assumed
// clock-rate drift of both clocks; samples taken long before the newest are not used (they would hide
// a clock that has since been set). And a member whose newest sample is older than the caller's
// `newestMaxAgeMs` (one probe period and deadline: a peer answering probes is never older) has no
// estimate at all, so it counts as not measured: its clock may have been set since, and the drift
// bound says nothing about a step (simulation seed 1600318: a counted c again 0.2 s after a cut healed,
// by a sample 4.4 s old taken before c's clock was set 8.7 s ahead and back, while c's stamps stood 7 s
// ahead). A peer that reconnects counts once the probe sent when it authenticates is answered.
//
// The verdict. Two clocks disagree when even the most favourable point of the interval is further
// apart than maxClockOffset: |offset| − uncertainty > maxClockOffsetMs. They agree only when the
// measurement is precise enough to tell: an interval wider than maxClockOffset each way (a probe whose
// round trip took over twice the bound: a process paused or stalled mid-probe, a link that slow)
// proves nothing, and the verdict is 'unknown' — the peer counts as not measured until a more precise
// probe (simulation seed 1400271: b, paused 1.9 s mid-probe of c and then set 2.3 s back, took c's
// answer, ±1.1 s, as agreement and accepted writes 2.3 s behind its side for a second). The check is
// symmetric: a clock behind loses last-writer-wins to earlier writes just as one ahead wins over later
// ones.

/** Samples kept per member. */
export const OFFSET_SAMPLES_MAX = 4;

/** Options of an offset table. */
export interface ClockOffsetsOptions {
  /** Samples taken longer than this before a member's newest one are not used. */
  sampleMaxAgeMs: number;
  /** Most members tracked; the one sampled longest ago makes room. */
  membersMax: number;
  /** Assumed worst clock-rate error of each clock, parts per million: a sample's uncertainty grows by twice that per ms of age. */
  driftPpm: number;
  /** Samples kept per member (default OFFSET_SAMPLES_MAX). */
  samplesMax?: number;
}

/** The offset of one member's clock from ours. */
export interface OffsetEstimate {
  /** Its clock minus ours, milliseconds: positive when it is ahead. */
  offsetMs: number;
  /** Half-width of the interval the offset lies in, milliseconds. */
  uncertaintyMs: number;
  /** Samples considered. */
  samples: number;
}

/** Whether two clocks agree within maxClockOffsetMs, or the measurement is too coarse to tell. */
export type OffsetVerdict = 'agrees' | 'disagrees' | 'unknown';

interface Sample {
  /** Remote physical clock minus the monotonic midpoint of the probe. */
  anchoredMs: number;
  /** Remote stamp height (ms since the epoch): the stamps do not fall below it. */
  stampMs: number;
  /** Half the round trip. */
  halfRttMs: number;
  /** Monotonic time of receipt. */
  atMs: number;
}

/**
 * Verdict of one estimate: 'disagrees' when the whole interval lies beyond maxClockOffsetMs, else
 * 'unknown' when the interval is wider than maxClockOffsetMs each way, else 'agrees'.
 */
export function offsetVerdict(e: Pick<OffsetEstimate, 'offsetMs' | 'uncertaintyMs'>, maxClockOffsetMs: number): OffsetVerdict {
  if (Math.abs(e.offsetMs) - e.uncertaintyMs > maxClockOffsetMs) return 'disagrees';
  return e.uncertaintyMs > maxClockOffsetMs ? 'unknown' : 'agrees';
}

/** Recent offset samples of each member. */
export class ClockOffsets {
  readonly sampleMaxAgeMs: number;
  readonly membersMax: number;
  readonly samplesMax: number;
  readonly #driftPerMs: number;
  // Insertion order = order of the latest sample (a member is moved to the end on each sample).
  readonly #samples = new Map<string, Sample[]>();

  constructor(options: ClockOffsetsOptions) {
    const samplesMax = options.samplesMax ?? OFFSET_SAMPLES_MAX;
    if (!(Number.isFinite(options.sampleMaxAgeMs) && options.sampleMaxAgeMs > 0)) throw new Error('ClockOffsets: sampleMaxAgeMs must be > 0');
    if (!(Number.isSafeInteger(options.membersMax) && options.membersMax > 0)) throw new Error('ClockOffsets: membersMax must be a positive integer');
    if (!(Number.isSafeInteger(samplesMax) && samplesMax > 0)) throw new Error('ClockOffsets: samplesMax must be a positive integer');
    if (!(Number.isFinite(options.driftPpm) && options.driftPpm >= 0)) throw new Error('ClockOffsets: driftPpm must be >= 0');
    this.sampleMaxAgeMs = options.sampleMaxAgeMs;
    this.membersMax = options.membersMax;
    this.samplesMax = samplesMax;
    this.#driftPerMs = (2 * options.driftPpm) / 1_000_000;
  }

  /**
   * Notes a probe of `member`: sent at `sentAtMs` and answered at `receivedAtMs` (our monotonic clock)
   * with its stamp height `remote.stampMs` and physical clock `remote.physicalMs`. Returns false
   * (ignored) unless all are finite, the physical clock is not above the stamp height and the answer
   * did not come before the question.
   */
  sample(member: string, remote: { stampMs: number; physicalMs: number }, sentAtMs: number, receivedAtMs: number): boolean {
    const { stampMs, physicalMs } = remote;
    if (![stampMs, physicalMs, sentAtMs, receivedAtMs].every(Number.isFinite) || physicalMs > stampMs || receivedAtMs < sentAtMs) return false;
    const list = this.#samples.get(member) ?? [];
    this.#samples.delete(member);
    list.push({ anchoredMs: physicalMs - (sentAtMs + receivedAtMs) / 2, stampMs, halfRttMs: (receivedAtMs - sentAtMs) / 2, atMs: receivedAtMs });
    if (list.length > this.samplesMax) list.splice(0, list.length - this.samplesMax);
    this.#samples.set(member, list);
    if (this.#samples.size > this.membersMax) {
      const oldest = this.#samples.keys().next().value as string;
      this.#samples.delete(oldest);
    }
    return true;
  }

  /**
   * The offset of `member`'s clock from ours at `nowMs` (monotonic), where `referenceMs` is our clock
   * now (max of our physical clock and our HLC). Undefined when it was never sampled (or forgotten),
   * or when its newest sample was taken more than `newestMaxAgeMs` before `nowMs`.
   */
  estimate(member: string, nowMs: number, referenceMs: number, newestMaxAgeMs = Infinity): OffsetEstimate | undefined {
    const list = this.#samples.get(member);
    if (list === undefined || list.length === 0) return undefined;
    let newestAtMs = -Infinity;
    for (const s of list) newestAtMs = Math.max(newestAtMs, s.atMs);
    if (nowMs - newestAtMs > newestMaxAgeMs) return undefined;
    let best: { anchoredMs: number; stampMs: number; uncertaintyMs: number } | undefined;
    let samples = 0;
    for (const s of list) {
      if (newestAtMs - s.atMs > this.sampleMaxAgeMs) continue;
      samples++;
      const uncertaintyMs = s.halfRttMs + this.#driftPerMs * Math.max(0, nowMs - s.atMs);
      // Oldest first, so of equally precise samples the newest counts.
      if (best === undefined || uncertaintyMs <= best.uncertaintyMs) best = { anchoredMs: s.anchoredMs, stampMs: s.stampMs, uncertaintyMs };
    }
    if (best === undefined) return undefined;
    const peerStampMs = Math.max(best.stampMs, best.anchoredMs + nowMs);
    return { offsetMs: peerStampMs - referenceMs, uncertaintyMs: best.uncertaintyMs, samples };
  }

  /** Drops a member's samples. */
  forget(member: string): void {
    this.#samples.delete(member);
  }

  /** Members with samples. */
  members(): string[] {
    return [...this.#samples.keys()];
  }
}
