// npm run sim -- --help prints the options (USAGE below).
// Runs seeds of the whole-cluster simulation (run.ts) and prints a table: seeds, virtual hours, faults
// injected by kind, writes acknowledged, checker violations. Each seed is independent and replays
// alone (--seed S; --timeline adds its faults, clocks, fences, phases and agents in time order); --jobs runs that many seeds in parallel worker processes (default: cores - 0).
// Exits 1 when any seed has a violation, printing how to replay it.
// Long sweeps: --out FILE appends each seed's report as a JSON line (with the commit on a header line)
// and skips seeds FILE already holds, so a sweep can be stopped and resumed; the table then covers the
// whole file. --table FILE prints the table of a sweep file without running anything. Worker processes
// are replaced every WORKER_SEEDS_MAX seeds, so a long sweep's memory stays bounded.
import { execFileSync, fork } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './nemesis.ts';
import { describeReport, runSeed, type RunOptions, type RunReport } from './run.ts';
import type { StrategyName } from '../../storage/logic/rules/conflict-rule.ts';
import type { QuorumMode } from '../../quorum/index.ts';

/** Seeds a worker runs before it is replaced by a fresh process. */
const WORKER_SEEDS_MAX = 100;

const USAGE = `usage: npm run sim -- [--seeds N] [--from S] [--seed S] [--seconds S | --minutes M] [--jobs J] [--kinds a,b]
                      [--controllers N] [--agents N] [--strategy LastWriterWins|Merge|Manual] [--mode Controllers|AgentAssisted]
                      [--verbose] [--timeline] [--out FILE] | --table FILE
fault kinds: ${FAULT_KINDS.join(', ')}
docs/simulation.md tells what each run checks and how to replay a failing seed.`;

function parseCli() {
  try {
    return parseArgs({
      options: {
        seeds: { type: 'string' }, from: { type: 'string' }, seed: { type: 'string' },
        seconds: { type: 'string' }, minutes: { type: 'string' }, jobs: { type: 'string' }, kinds: { type: 'string' },
        controllers: { type: 'string' }, agents: { type: 'string' }, strategy: { type: 'string' }, mode: { type: 'string' },
        out: { type: 'string' }, table: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
        verbose: { type: 'boolean', default: false }, timeline: { type: 'boolean', default: false }, worker: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const { values } = parseCli();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const num = (v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

function quorumMode(v: string): QuorumMode {
  if (v !== 'Controllers' && v !== 'AgentAssisted') throw new Error(`--mode is Controllers or AgentAssisted, not ${v}`);
  return v;
}

const virtualMs = values.minutes !== undefined ? num(values.minutes, 1) * 60_000 : num(values.seconds, 60) * 1_000;
const kinds = values.kinds === undefined ? undefined : values.kinds.split(',').map((k) => {
  if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k} (one of ${FAULT_KINDS.join(', ')})`);
  return k as FaultKind;
});
const base: Omit<RunOptions, 'seed'> = {
  virtualMs,
  ...(kinds === undefined ? {} : { kinds }),
  ...(values.controllers === undefined ? {} : { controllers: num(values.controllers, 3) }),
  ...(values.agents === undefined ? {} : { agents: num(values.agents, 0) }),
  ...(values.strategy === undefined ? {} : { strategy: values.strategy as StrategyName }),
  ...(values.mode === undefined ? {} : { mode: quorumMode(values.mode) }),
  ...(values.timeline ? { timeline: true } : {}),
};

if (values.worker) {
  // A worker: run the seeds the parent sends, one at a time; answer each with its report.
  process.on('message', (seed: number) => {
    runSeed({ ...base, seed }).then(
      (r) => process.send!({ ok: true, report: r }),
      (err: unknown) => process.send!({ ok: false, seed, error: String((err as Error)?.stack ?? err) }),
    );
  });
} else {
  await main();
}

/** A sweep file: a header line per invocation ({"sweep": ...}) and one line per seed report. */
function readSweep(file: string): { reports: RunReport[]; wallS: number; commits: string[] } {
  const reports: RunReport[] = [];
  let wallS = 0;
  const commits = new Set<string>();
  if (!existsSync(file)) return { reports, wallS, commits: [] };
  // An invocation's wall time: its closing line, or (stopped early) the elapsed time of its last report.
  let invocationS = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as { sweep?: { commit: string }; wallS?: number; elapsedS?: number } & Partial<RunReport>;
    if (o.sweep !== undefined) {
      commits.add(o.sweep.commit);
      wallS += invocationS;
      invocationS = 0;
    } else if (o.wallS !== undefined) {
      invocationS = o.wallS;
    } else {
      reports.push(o as RunReport);
      invocationS = Math.max(invocationS, o.elapsedS ?? 0);
    }
  }
  return { reports, wallS: wallS + invocationS, commits: [...commits] };
}

function commitOf(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  if (values.table !== undefined) {
    const sweep = readSweep(values.table);
    console.log(`sweep ${values.table}: commit ${sweep.commits.join(', ') || 'unknown'}`);
    printTable(sweep.reports, 0, sweep.wallS, undefined);
    process.exitCode = sweep.reports.some((r) => r.violations.length > 0) ? 1 : 0;
    return;
  }
  const wanted = values.seed !== undefined ? [num(values.seed, 1)] : Array.from({ length: num(values.seeds, 20) }, (_, i) => num(values.from, 1) + i);
  const out = values.out;
  const before = out === undefined ? undefined : readSweep(out);
  const done = new Set(before?.reports.map((r) => r.seed) ?? []);
  const seeds = wanted.filter((seed) => !done.has(seed));
  if (out !== undefined) {
    const commit = commitOf();
    if (before !== undefined && before.commits.length > 0 && !before.commits.includes(commit)) {
      throw new Error(`${out} holds a sweep of commit ${before.commits.join(', ')}, not ${commit}: use another file`);
    }
    appendFileSync(out, `${JSON.stringify({ sweep: { commit, args: process.argv.slice(2), startedAt: new Date().toISOString() } })}\n`);
    if (done.size > 0) console.log(`${out}: ${wanted.length - seeds.length} of these seeds already run, ${seeds.length} to go`);
  }
  const jobs = Math.max(1, Math.min(Math.max(1, seeds.length), num(values.jobs, availableParallelism())));
  const started = performance.now();
  const reports: RunReport[] = [];
  const errors: Array<{ seed: number; error: string }> = [];
  const queue = [...seeds];
  const self = fileURLToPath(import.meta.url);
  const args = process.argv.slice(2).filter((a) => a !== '--worker');
  const worker = (): Promise<void> => new Promise<void>((resolve) => {
    const child = fork(self, [...args, '--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let ran = 0;
    let replaced = false;
    const next = (): void => {
      const seed = ran < WORKER_SEEDS_MAX ? queue.shift() : undefined;
      if (seed === undefined) {
        child.disconnect();
        if (queue.length > 0) {
          replaced = true;
          void worker().then(resolve);
        } else {
          resolve();
        }
        return;
      }
      ran += 1;
      child.send(seed);
    };
    child.on('message', (m: { ok: true; report: RunReport } | { ok: false; seed: number; error: string }) => {
      if (m.ok) {
        reports.push(m.report);
        if (out !== undefined) appendFileSync(out, `${JSON.stringify({ ...m.report, timeline: undefined, elapsedS: (performance.now() - started) / 1000 })}\n`);
        if (values.verbose || m.report.violations.length > 0) console.log(describeReport(m.report));
      } else {
        errors.push({ seed: m.seed, error: m.error });
        console.log(`seed ${m.seed}: harness error\n${m.error}`);
      }
      next();
    });
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) errors.push({ seed: -1, error: `worker exited ${code}` });
      if (!replaced) resolve();
    });
    next();
  });
  await Promise.all(Array.from({ length: jobs }, worker));
  const wallS = (performance.now() - started) / 1000;
  if (out !== undefined) {
    appendFileSync(out, `${JSON.stringify({ wallS })}\n`);
    const sweep = readSweep(out);
    printTable(sweep.reports, errors.length, sweep.wallS, jobs);
  } else {
    printTable(reports, errors.length, wallS, jobs);
  }
  process.exitCode = errors.length > 0 || reports.some((r) => r.violations.length > 0) ? 1 : 0;
}

function printTable(reports: RunReport[], errors: number, wallS: number, jobs: number | undefined): void {
  const sum = (f: (r: RunReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, sum((r) => r.faults[k])])) as Record<FaultKind, number>;
  const refused: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.refused)) refused[k] = (refused[k] ?? 0) + v;
  const failing = reports.filter((r) => r.violations.length > 0);
  const rows: Array<[string, string]> = [
    ['seeds run', `${reports.length}${errors > 0 ? ` (+${errors} harness errors)` : ''}`],
    ['virtual time', `${(sum((r) => r.virtualMs) / 3_600_000).toFixed(2)} h (${(sum((r) => r.virtualMs) / 1000 / Math.max(1, reports.length)).toFixed(0)} s per seed)`],
    ['wall time', `${wallS.toFixed(1)} s${jobs === undefined ? '' : ` on ${jobs} processes`} (${(sum((r) => r.realMs) / 1000 / Math.max(1, reports.length)).toFixed(2)} s per seed in one process, ${(sum((r) => r.events) / Math.max(1, sum((r) => r.realMs) / 1000)).toFixed(0)} events/s)`],
    ['federations', `${['LastWriterWins', 'Merge', 'Manual'].map((s) => `${s} ${reports.filter((r) => r.strategy === s).length}`).join(', ')}; ` +
      `AgentAssisted ${reports.filter((r) => r.mode === 'AgentAssisted').length}; agents ${sum((r) => r.agents)}`],
    ...FAULT_KINDS.map((k) => [`faults: ${k}`, String(faults[k])] as [string, string]),
    ['client operations', String(sum((r) => r.clients.writes + r.clients.deletes + r.clients.resolves + r.clients.reads))],
    ['writes acked', `${sum((r) => r.acked.local)} local, ${sum((r) => r.acked.quorum)} quorum`],
    ['membership', `${sum((r) => r.members?.removed ?? 0)} controllers removed in ${sum((r) => (r.members?.removed ?? 0) > 0 ? 1 : 0)} runs (${sum((r) => r.members?.asked ?? 0)} asks); ` +
      `${sum((r) => r.members?.added ?? 0)} added (${sum((r) => r.members?.addsAsked ?? 0)} asks), ${sum((r) => (r.members?.added ?? 0) > 0 && (r.members?.removed ?? 0) > 0 ? 1 : 0)} runs with both`],
    ['writes refused', Object.entries(refused).sort().map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['checker violations', `${sum((r) => r.violations.length)} in ${failing.length} seeds${failing.length > 0 ? ` (${failing.slice(0, 10).map((r) => r.seed).join(', ')}${failing.length > 10 ? ', ...' : ''})` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
