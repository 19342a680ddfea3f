// Health-check settings of the failure detector (the guide's `healthCheck` block, in milliseconds).

/** Failure-detector settings; see failure-detector.ts for the exact rule. */
export interface HealthCheckOptions {
  /** Heartbeat period: every member publishes one heartbeat per interval, and one check is due per interval. */
  intervalMs: number;
  /** How late a heartbeat may be before the check it was due for fails; must be below intervalMs. */
  timeoutMs: number;
  /** Consecutive failed checks that make a member Unhealthy. */
  failureThreshold: number;
  /** Consecutive passed checks that make an Unhealthy (or new) member Healthy. */
  successThreshold: number;
}

/** The guide's defaults: interval 10 s, timeout 5 s, failureThreshold 3, successThreshold 1. */
export const DEFAULT_HEALTH_CHECK: Readonly<HealthCheckOptions> = Object.freeze({
  intervalMs: 10_000,
  timeoutMs: 5_000,
  failureThreshold: 3,
  successThreshold: 1,
});

/** Smallest interval accepted: below this, timer jitter is the same size as the interval itself. */
export const HEALTH_INTERVAL_MS_MIN = 20;
/** Largest interval accepted (one hour). */
export const HEALTH_INTERVAL_MS_MAX = 3_600_000;
/** Largest failure or success threshold accepted. */
export const HEALTH_THRESHOLD_MAX = 100;

/** One problem with a settings object: the field (a dotted path) and what is wrong with it. */
export interface SettingProblem {
  /** Dotted path of the offending field, e.g. `healthCheck.timeoutMs`. */
  field: string;
  /** What is wrong, in words. */
  problem: string;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Check health-check settings, including the relations between fields; [] when valid. */
export function checkHealthCheck(h: HealthCheckOptions, prefix = 'healthCheck'): SettingProblem[] {
  const out: SettingProblem[] = [];
  const at = (f: string): string => (prefix === '' ? f : `${prefix}.${f}`);
  if (!isInt(h.intervalMs) || h.intervalMs < HEALTH_INTERVAL_MS_MIN || h.intervalMs > HEALTH_INTERVAL_MS_MAX) {
    out.push({ field: at('intervalMs'), problem: `must be an integer in ${HEALTH_INTERVAL_MS_MIN}..${HEALTH_INTERVAL_MS_MAX}` });
  }
  if (!isInt(h.timeoutMs) || h.timeoutMs < 1) {
    out.push({ field: at('timeoutMs'), problem: 'must be an integer >= 1' });
  } else if (isInt(h.intervalMs) && h.timeoutMs >= h.intervalMs) {
    // A timeout of a whole interval or more would let one heartbeat satisfy two checks, and the
    // detection bound (failureThreshold + 1 intervals) would no longer hold.
    out.push({ field: at('timeoutMs'), problem: `must be less than intervalMs (${h.intervalMs})` });
  }
  for (const f of ['failureThreshold', 'successThreshold'] as const) {
    const v = h[f];
    if (!isInt(v) || v < 1 || v > HEALTH_THRESHOLD_MAX) {
      out.push({ field: at(f), problem: `must be an integer in 1..${HEALTH_THRESHOLD_MAX}` });
    }
  }
  return out;
}
