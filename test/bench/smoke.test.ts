// Every benchmark in bench/ in smoke mode (BENCH_SMOKE=1, bench/smoke.ts: every part, small sizes, a
// few seconds): each must exit 0 and print its key figures, a number where a number belongs. A bench
// broken by a change in the code it drives (a timeout, a crash, a figure gone missing or NaN) then
// fails CI instead of rotting until someone runs it. The figures themselves are not checked: at
// these sizes they mean nothing.
//
// Each bench runs as `npm run bench:<name>` would (the script line of package.json, with the Node
// running this test), in its own process group, which is killed when the bench ends or overruns, so
// that nothing it forked outlives it. Two at a time; each one's wall time is printed as a comment.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/daemon-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** Longest a bench may take in smoke mode before it is killed and fails, ms. */
const BENCH_TIMEOUT_MS = 90_000;
/** Benches running at once (the machine has two cores). */
const CONCURRENCY = 2;
// The file takes about a minute (more on a loaded machine); each bench is bounded by
// BENCH_TIMEOUT_MS, so the file's own deadline only needs room for the lanes of them.
t.setTimeout(240_000);

/** A number as the benches print it: 12, 3.5, 4,899. */
const N = String.raw`\d[\d,]*(?:\.\d+)?`;

/** A line a bench must print: a regular expression (multiline) in which `{n}` stands for a number. */
interface Figure {
  pattern: string;
  re: RegExp;
}
const re = (pattern: string): Figure => ({ pattern, re: new RegExp(pattern.replaceAll('{n}', N), 'm') });

/** npm script suffix -> the lines its smoke run must print (`{n}` stands for a number). */
let BENCHES: Record<string, Figure[]> = {
  // Longest first, so that two lanes finish about together.
  agents: [
    re('^{n} agents connected and caught up in {n} s'),
    re('^fan-out, write on us-west -> {n} agents \\({n} writes at {n}/s, ({n})/\\1 deliveries[^)]*\\): p50 {n} ms, p99 {n} ms'),
    re('^  agents following us-west: p50 {n} ms, p99 {n} ms'),
    re('^  CPU per write beyond the background, ms: us-west {n}'),
    re('^empty agent, full copy of {n} resources: {n} MB received in {n} s'),
    re('^agent that missed 100 of {n}: {n} differing keys, {n} pulled, {n} bytes on the wire'),
    re('^failover, primary process killed: served by [a-z-]+ after {n} ms'),
    re('^failover, [a-z-]+ frozen \\(SIGSTOP[^)]*\\): served by [a-z-]+ after {n} ms'),
  ],
  'agent-cost': [
    re('^frame of one changed record to one agent: {n} bytes'),
    re('^controller alone, CPU per write \\(store, Merkle, fsync; no agent\\): -?{n} us'),
    re('^controller memory per connected agent: RSS -?{n} KiB, heap -?{n} KiB'),
    re('^round 1/1 floor: sender -?{n} us/message \\(kernel -?{n}\\), receiver -?{n} us/message'),
    re('^round 1/1 system: controller -?{n} us/delivery .*\\(({n})/\\1 deliveries, {n} deliveries/s'),
    re('^controller CPU per delivery: -?{n} us without the write'),
    re('^agent CPU per delivery: -?{n} us; floor receiver -?{n} us/message; ratio -?{n}x'),
    re('^agents one controller core serves, fan-out alone .*: {n} at 10 writes/s'),
  ],
  'agent-cache': [
    re('^agent-cache: {n} resources held \\(filled in {n} s\\), {n} changes/s'),
    re('^changes alone: CPU {n} ms/s before, {n} ms/s after'),
    re('^full rewrite: CPU {n} ms/s over {n} s \\([-+]{n} beyond the changes\\), {n} KB/s written \\({n} writes of {n} MB'),
    re('^journal: CPU {n} ms/s over {n} s \\([-+]{n} beyond the changes\\), {n} KB/s written \\({n} appends of {n} KB'),
    re("^journal's snapshots, amortized: one every {n} s: \\+{n} ms/s CPU, \\+{n} KB/s written"),
    re("^the copy's cost, full rewrite vs journal: CPU {n} vs {n} ms/s \\({n}x less\\), written {n} KB/s vs {n} KB/s \\({n}x less\\)"),
  ],
  hostile: [
    re('^bomb:$'),
    re('^  {n} bombs of {n} KiB'),
    re('^preauth:$'),
    re('^  {n} identities without certificates, {n} connections'),
    re('^  victim: longest event-loop stall {n} ms \\(p99 {n} ms\\), CPU {n} ms; RSS {n} MiB -> peak {n} MiB'),
    re('^  victim CPU per frame, beyond its quiet level: -?{n} ms'),
    re('^  quorum writes to the victim: {n} ok'),
  ],
  'members-remove': [
    re('^round 1/1: ctl-c removed at epoch 2 \\(drained first\\); committed after {n} ms'),
    re('^members remove -> committed: median {n} ms over 1 rounds'),
    re('^members remove -> the removed controller knows: median {n} ms'),
    re('^a membership change alone \\(deny, no drain\\) -> committed: median {n} ms'),
    re('^members remove -> every one of {n} agents off it: median {n} ms'),
  ],
  'members-add': [
    re('^  reference, plain full copy: an empty store\'s anti-entropy session against ctl-a: {n} bytes on the wire'),
    re('^  ctl-d added at epoch 2 \\(learners ctl-d\\): committed after {n} ms; joined \\(start resolved\\) after {n} ms .*; a voter on all four controllers after {n} ms'),
    re('^  joiner\'s anti-entropy bytes until then: {n} \\({n} MB\\) = {n}x the plain full copy'),
    // Without ss (iproute2) the TCP bytes are not measured, and the bench says so.
    re('^  joiner\'s TCP bytes until then .*: received {n}, sent {n}; together {n} \\({n} MB\\) = {n}x|^  joiner\'s TCP bytes: not measured'),
    re('^  writes during the join \\(add -> voter everywhere\\): {n} writes, {n} ok, {n} FENCED.*; latency p50 {n} ms, p99 {n} ms, max {n} ms'),
    re('^  members add -> voter on every controller +{n} ms'),
    re('^  writes FENCED on existing controllers during the join +{n}'),
  ],
  membership: [
    re('^  every controller sees the 4 others Healthy after {n} ms'),
    re('^  every agent connected to a controller after {n} ms'),
    re('^full membership after {n} ms'),
    re('^SIGKILL round 1: Unhealthy on both surviving controllers after {n} ms'),
    re('^  restarted \\(same key, same port, new process\\): Healthy on both surviving controllers {n} ms'),
    re('^SIGKILL -> Unhealthy on every surviving controller over {n} rounds: min {n} ms, median {n} ms, max {n} ms'),
  ],
  replication: [
    re('^sustained durable writes/s, 3 controllers, 64 writers, local durability: {n}'),
    re('^  CPU per 1,000 writes, three processes together: {n} ms'),
    re('^lag us-west -> eu-west at {n} writes/s: p50 {n} ms, p99 {n} ms'),
    re('^lag us-west -> ap-east at {n} writes/s: p50 {n} ms, p99 {n} ms'),
    re('^burst of {n} writes on us-west: .*Merkle roots equal {n} s after'),
    re('^  at the burst\'s end, us-west to each peer: eu-west {n} push-queue overflows'),
  ],
  fencing: [
    re('^  cut -> minority fenced \\({n} rounds\\): min {n} / median {n} / max {n} ms'),
    re('^  heal -> unfenced \\({n} rounds\\): min {n} / median {n} / max {n} ms'),
    // Without root, iproute2 or iptables the silent-drop part says why it skipped.
    re('^    cut -> minority FENCED: +min {n} / median {n} / max {n} ms|^silent drops: skipped'),
  ],
  'agent-assisted': [
    re('^setup: 5 agents registered on both controllers and leases counted after {n} ms'),
    re('^cut -> minority \\(c-b, 12 of 25\\) fenced \\({n} rounds\\): min {n} / median {n} / max {n} ms'),
    re('^heal at once -> unfenced \\({n} rounds\\): min {n} / median {n} / max {n} ms'),
    re('^heal after a {n} ms cut -> unfenced \\({n} rounds\\): min {n} / median {n} / max {n} ms'),
  ],
  storage: [
    re('^durable writes/s, 1 writer: +{n}'),
    re('^durable writes/s, 64 writers: +{n}'),
    re('^Merkle update per write: +{n} us'),
    re('^cold open #2 of {n} resources: {n} s, RSS {n} MB'),
  ],
  'anti-entropy': [
    re('^d= +10: {n} bytes on the wire .*, {n} round trips, {n} ms'),
    re('^d= +100: {n} bytes on the wire .*, {n} round trips, {n} ms'),
  ],
};

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  seconds: number;
  timedOut: boolean;
}

const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The file `npm run bench:<name>` runs (its script line must be `node bench/<file>.ts`). */
function benchFile(name: string): string {
  const line = scripts[`bench:${name}`];
  const m = /^node (bench\/[\w-]+\.ts)$/.exec(line ?? '');
  if (m === null) throw new Error(`package.json script bench:${name} is ${JSON.stringify(line)}, not "node bench/<file>.ts"`);
  return m[1]!;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

/** Process groups of the benches running now: killed if this test process exits first. */
const running = new Set<number>();
process.on('exit', () => { for (const pid of running) killGroup(pid); });

function runBench(file: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = performance.now();
  // tap puts its loader hooks into every child's NODE_OPTIONS; `env -u` takes them out (a bench is
  // run as a user runs it). `env` execs node, so the group leader is the bench itself.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, file], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child.pid!);
  let output = '';
  child.on('error', (err) => { output += `\n${String(err)}\n`; });
  child.stdout.setEncoding('utf8').on('data', (s: string) => { output += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { output += s; });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; killGroup(child.pid!); }, BENCH_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever it forked and left behind goes with it.
      killGroup(child.pid!);
      running.delete(child.pid!);
      resolve({ code, signal, output, seconds: (performance.now() - t0) / 1000, timedOut });
    });
  });
}

/** Run `task` over `items`, `limit` at a time; the results in the order of `items`, as they come. */
function pool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Array<Promise<R>> {
  const gates: Array<() => void> = [];
  let busy = 0;
  const release = (): void => {
    busy--;
    gates.shift()?.();
  };
  return items.map(async (item) => {
    if (busy >= limit) await new Promise<void>((r) => gates.push(r));
    busy++;
    try {
      return await task(item);
    } finally {
      release();
    }
  });
}

// bench:vs-etcd honours BENCH_SMOKE=1 itself (without etcd installed it says so, prints NovaEdge's
// figures alone and still exits 0). The longest: it goes first, in a lane of its own.
if (existsSync(join(REPO_ROOT, 'bench/vs-etcd.ts')) && scripts['bench:vs-etcd'] !== undefined) {
  BENCHES = {
    'vs-etcd': [re('^vs-etcd \\(smoke\\): machine {n} CPUs'), re('^round {n}/{n} NovaEdge \\({n} s\\): 64 writers quorum {n}/s')],
    ...BENCHES,
  };
}

t.test('every bench script of package.json has a smoke run here', async (t) => {
  const missing = Object.keys(scripts).filter((s) => s.startsWith('bench:') && BENCHES[s.slice('bench:'.length)] === undefined);
  t.same(missing, [], 'a new bench gets its figures listed in BENCHES (and a smoke mode: bench/smoke.ts)');
});

// SMOKE_BENCHES=membership,storage runs only those (while working on one).
const only = process.env.SMOKE_BENCHES?.split(',').filter((n) => n !== '');
const names = Object.keys(BENCHES).filter((n) => only === undefined || only.includes(n));

const cacheDir = await tempDir(t, 'novaedge-bench-smoke-');
const env: NodeJS.ProcessEnv = {};
// The bench's own size variables would override smoke mode's: none of them from outside.
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BENCH_') && k !== 'ROUNDS' && k !== 'VERBOSE') env[k] = v;
env.BENCH_SMOKE = '1';
// Compiled code cached on disk: the benches load the same modules in many processes each.
env.NODE_COMPILE_CACHE ??= cacheDir;

const started = performance.now();
// bench:vs-etcd runs its NovaEdge half only: the etcd half drives Debian's etcd (not this project's
// code) and took a third of this file's time, which CI's ten minutes cannot spare. Its etcd client
// (bench/etcd-grpc.ts) is therefore checked only when the bench is run by hand.
const envOf = (name: string): NodeJS.ProcessEnv => (name === 'vs-etcd' ? { ...env, BENCH_SYSTEMS: 'novaedge' } : env);
const runs = pool(names, CONCURRENCY, (name) => runBench(benchFile(name), envOf(name)));
for (const [i, name] of names.entries()) {
  t.test(`bench:${name} in smoke mode`, async (t) => {
    const r = await runs[i]!;
    t.comment(`bench:${name}: ${r.seconds.toFixed(1)} s wall${r.timedOut ? ` (killed after ${BENCH_TIMEOUT_MS / 1000} s)` : ''}`);
    const tail = r.output.split('\n').slice(-40).join('\n');
    t.notOk(r.timedOut, `finishes within ${BENCH_TIMEOUT_MS / 1000} s`, { output: tail });
    t.equal(r.code, 0, 'exits 0', { signal: r.signal, output: tail });
    for (const figure of BENCHES[name]!) t.match(r.output, figure.re, `prints ${figure.pattern}`, { output: tail });
    t.notMatch(r.output, /\bNaN\b/, 'no NaN among its figures');
  });
}
t.test('all benches', async (t) => {
  await Promise.all(runs);
  t.comment(`all benches in smoke mode: ${((performance.now() - started) / 1000).toFixed(1)} s wall, ${CONCURRENCY} at a time`);
});
