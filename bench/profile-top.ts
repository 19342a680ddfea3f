// Summary of CPU profiles (.cpuprofile: node --cpu-prof, or bench-cluster.ts's stretchProfiler): the
// functions with the most self time, and the same time by area (the package, or the project folder,
// a function's code comes from), over one or more profiles taken together, idle left out.
// A native frame (no source: a binding, a builtin) is placed under the nearest caller that has
// source: `writeSync < inflateBounded` is zlib's synchronous inflate called from codec.ts.
//
//   node bench/profile-top.ts [--top 25] [--us 1000] file.cpuprofile [more.cpuprofile ...]
//
// The profiler's own work (node:inspector frames, its session starting and stopping) is left out too.
// Shares are of sampled time, which is not CPU time (a process descheduled between two samples
// still counts), and a profile samples the main thread only (not libuv's pool: LevelDB, fsync); --us N
// also prints each share of N microseconds: N being the main thread's CPU per operation measured
// without the profiler, that is each function's estimated CPU per operation.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function, or of one area, over the profiles. */
export interface SelfTime {
  what: string;
  ms: number;
  /** Share of all sampled time that is not idle, %. */
  pct: number;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SPECIAL = new Set(['(garbage collector)', '(program)', '(root)']);

function shortPath(url: string): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith(REPO) ? relative(REPO, path) : path;
}

/** The area of a source file: its package, the project's folder, or Node's own module. */
function areaOf(url: string): string {
  const path = shortPath(url);
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? `node:${url.split('/')[1]}` : url;
  if (url.includes('node_modules/')) {
    const parts = path.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const parts = path.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Self time per function and per area over `files`, most first, and the sampled time that is not idle, ms. */
export function selfTimes(files: string[]): { functions: SelfTime[]; areas: SelfTime[]; busyMs: number } {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyUs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n] as const));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = new Map<number, { fn: string; area: string }>();
    const labelOf = (n: ProfileNode): { fn: string; area: string } => {
      let l = label.get(n.id);
      if (l !== undefined) return l;
      const name = n.callFrame.functionName || '(anonymous)';
      if (SPECIAL.has(name)) {
        l = { fn: name, area: name };
      } else if (n.callFrame.url !== '') {
        l = { fn: `${name} (${shortPath(n.callFrame.url)}:${n.callFrame.lineNumber + 1})`, area: areaOf(n.callFrame.url) };
      } else {
        // Native: under the nearest caller with source.
        let up = parent.get(n.id);
        while (up !== undefined && nodes.get(up)!.callFrame.url === '') up = parent.get(up);
        const caller = up === undefined ? undefined : nodes.get(up)!;
        l = caller === undefined ? { fn: name, area: '(native)' }
          : { fn: `${name} < ${caller.callFrame.functionName || '(anonymous)'} (${shortPath(caller.callFrame.url)}:${caller.callFrame.lineNumber + 1})`, area: areaOf(caller.callFrame.url) };
      }
      label.set(n.id, l);
      return l;
    };
    // Each sample's time is the delta before the next one.
    for (let i = 0; i < p.samples.length; i++) {
      const n = nodes.get(p.samples[i]!)!;
      if (n.callFrame.functionName === '(idle)') continue;
      const us = p.timeDeltas[i + 1] ?? 0;
      const l = labelOf(n);
      if (l.area === 'node:inspector') continue;
      byFunction.set(l.fn, (byFunction.get(l.fn) ?? 0) + us);
      byArea.set(l.area, (byArea.get(l.area) ?? 0) + us);
      busyUs += us;
    }
  }
  const sorted = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([what, us]) => ({ what, ms: us / 1000, pct: (100 * us) / (busyUs || 1) }));
  return { functions: sorted(byFunction), areas: sorted(byArea), busyMs: busyUs / 1000 };
}

/**
 * Lines of the `n` functions and the areas with the most self time; `perOpUs` turns shares into µs
 * per operation, `perOpWhat` says what it is (default: the main thread's CPU per operation).
 */
export function topLines(files: string[], n: number, perOpUs?: number, perOpWhat = "the main thread's CPU per operation measured without the profiler"): string[] {
  const { functions, areas, busyMs } = selfTimes(files);
  const us = (pct: number): string => perOpUs === undefined ? '' : `${((pct / 100) * perOpUs).toFixed(1).padStart(7)} us  `;
  const line = (t: SelfTime): string => `${t.pct.toFixed(1).padStart(5)}%  ${us(t.pct)}${t.what}`;
  return [
    `sampled ${busyMs.toFixed(0)} ms not idle (the profiler's own work left out)${perOpUs === undefined ? '' : `; us = share x ${perOpUs.toFixed(1)} us, ${perOpWhat}`}`,
    'by area:',
    ...areas.slice(0, Math.min(n, 12)).map((t) => `  ${line(t)}`),
    'by function (self time):',
    ...functions.slice(0, n).map((t) => `  ${line(t)}`),
  ];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  let n = 25;
  let perOpUs: number | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') n = Number(args[++i]);
    else if (args[i] === '--us') perOpUs = Number(args[++i]);
    else files.push(args[i]!);
  }
  if (files.length === 0) {
    console.error('usage: node bench/profile-top.ts [--top 25] [--us N] file.cpuprofile ...');
    process.exit(2);
  }
  for (const line of topLines(files, n, perOpUs)) console.log(line);
}
