// A readable log line for a terminal, from one of pino's JSON lines:
//   12:04:05.123 INFO  [replication] peer connected member=eu-west lagMs=3
// Small on purpose (pino-pretty is not a dependency); a line that is not JSON is passed through.

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields shown in the fixed part of the line, or not at all. */
const FIXED = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

function clock(t: unknown): string {
  const d = new Date(typeof t === 'number' || typeof t === 'string' ? t : Date.now());
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().slice(11, 23);
}

/** Format one pino JSON line. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (typeof o !== 'object' || o === null) return `${json.trimEnd()}\n`;
  const level = (LEVELS[o.level as number] ?? String(o.level)).padEnd(5);
  const component = typeof o.component === 'string' ? ` [${o.component}]` : '';
  const rest = Object.entries(o).filter(([k]) => !FIXED.has(k)).map(([k, v]) => `${k}=${value(v)}`);
  return `${clock(o.time)} ${level}${component} ${String(o.msg ?? '')}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`;
}

/** A pino destination writing pretty lines to a stream (synchronously for a TTY or file descriptor). */
export function prettyDestination(out: { write(s: string): unknown }): { write(s: string): void } {
  return {
    write(s: string): void {
      // pino writes one line per call; split anyway in case several arrive together.
      for (const line of s.split('\n')) if (line !== '') out.write(prettyLine(line));
    },
  };
}
