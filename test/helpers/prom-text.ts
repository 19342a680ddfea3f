// A small parser of the Prometheus text exposition format (0.0.4), enough to check what an exporter
// serves: TYPE and HELP per family, and samples with their labels and values.

/** One sample line. */
export interface PromSample {
  /** Sample name (a histogram's _bucket/_sum/_count included). */
  name: string;
  /** Labels. */
  labels: Record<string, string>;
  /** Value (NaN, +Inf and -Inf parsed, in any case). */
  value: number;
}

/** Parsed exposition. */
export interface PromText {
  /** Metric family → type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  /** Metric family → help text. */
  help: Map<string, string>;
  /** Every sample, in order. */
  samples: PromSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (m === null) throw new Error(`bad labels in: ${line}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** Parse exposition text; throws on a line it cannot read. */
export function parsePromText(text: string): PromText {
  const r: PromText = { types: new Map(), help: new Map(), samples: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      (meta[1] === 'TYPE' ? r.types : r.help).set(meta[2]!, meta[3]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const v = m[3]!;
    // Go's ParseFloat, which Prometheus uses, reads NaN and Inf in any case (prom-client writes "Nan").
    const lower = v.toLowerCase();
    const value = lower === '+inf' || lower === 'inf' ? Infinity : lower === '-inf' ? -Infinity : Number(v);
    if (Number.isNaN(value) && lower !== 'nan') throw new Error(`bad value in: ${line}`);
    r.samples.push({ name: m[1]!, labels: m[2] === undefined ? {} : parseLabels(m[2], line), value });
  }
  return r;
}

/** Samples of one name whose labels include `labels`. */
export function samplesOf(p: PromText, name: string, labels: Record<string, string> = {}): PromSample[] {
  return p.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` with `labels`; undefined when absent. */
export function valueOf(p: PromText, name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samplesOf(p, name, labels);
  if (s.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${s.length} samples`);
  return s[0]?.value;
}

/** GET a URL and parse it as exposition text; returns the content type too. */
export async function scrape(url: string): Promise<PromText & { contentType: string }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return { ...parsePromText(await res.text()), contentType: res.headers.get('content-type') ?? '' };
}
