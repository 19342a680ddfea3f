// The README walkthrough runs as printed (issue 19, §3): every `sh` block of its section, in order,
// as one bash script (errexit, pipefail), in a temporary directory (D) on free loopback ports (P),
// within a deadline. Each `text` block printed after a command block must appear in the script's
// output (times normalized). No sleeps anywhere: the script waits with `novactl wait`. The README
// itself also links only files of the repository, and its embedding example waits for ready() and
// gives both nodes the agents CA.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/daemon-process.ts';
import { normalizeOutput, sectionBlocks } from '../helpers/readme-blocks.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const SECTION = 'Walkthrough: three regions with the daemon';
/** The whole walkthrough's deadline (it takes under a minute on a quiet 2-core machine). */
const WALKTHROUGH_TIMEOUT_MS = 240_000;
/** Offsets of the walkthrough's ports from P: three controllers and their metrics. */
const PORT_OFFSETS = [1, 2, 3, 1001, 1002, 1003];
// About 40 novactl and novaedge runs through npm: a minute on a quiet machine, more on a busy one.
t.setTimeout(WALKTHROUGH_TIMEOUT_MS + 60_000);

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// A base port P whose walkthrough ports are all free, from a range other tests' ephemeral ports avoid.
async function freeBase(): Promise<number> {
  for (let base = 21_000 + (process.pid % 200) * 50; base < 32_000; base += 37) {
    if ((await Promise.all(PORT_OFFSETS.map((o) => portFree(base + o)))).every(Boolean)) return base;
  }
  throw new Error('no free base port for the walkthrough');
}

t.test('the README walkthrough runs as printed, and prints what it shows', async (t) => {
  const blocks = sectionBlocks(README, SECTION);
  const script = blocks.filter((b) => b.lang === 'sh').map((b) => b.text).join('\n');
  t.ok(script.includes('start us-west eu-west ap-east'), 'the extracted script is the walkthrough');
  const D = await tempDir(t, 'novaedge-walkthrough-');
  const P = await freeBase();
  const t0 = performance.now();
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
    cwd: REPO_ROOT, env: { ...process.env, D, P: String(P), NOVACTL_SOCKET: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), WALKTHROUGH_TIMEOUT_MS);
  // Whatever happens, no daemon of the walkthrough outlives the test.
  t.teardown(() => {
    for (const r of ['us-west', 'eu-west', 'ap-east']) {
      const pidFile = join(D, `${r}.pid`);
      if (!existsSync(pidFile)) continue;
      try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  const seconds = (performance.now() - t0) / 1000;
  t.comment(`walkthrough ran in ${seconds.toFixed(1)} s`);
  const logs = ['us-west', 'eu-west', 'ap-east'].map((r) => join(D, `${r}.log`)).filter(existsSync)
    .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
  t.equal(code, 0, 'the script exits 0', { stdout: out.slice(-4000), stderr: err.slice(-4000), logs });
  const printed = new Set(normalizeOutput(out));
  for (const [i, b] of blocks.entries()) {
    if (b.lang !== 'text') continue;
    const missing = normalizeOutput(b.text).filter((l) => !printed.has(l));
    t.same(missing, [], `output block ${i} (after "${blocks[i - 1]?.text.trim().split('\n').at(-1)}") is what the script printed`);
  }
  for (const r of ['us-west', 'eu-west', 'ap-east']) {
    t.notOk(existsSync(join(D, `${r}.pid`)), `${r} stopped cleanly: its pid file is removed`);
    t.notOk(existsSync(join(D, `${r}.sock`)), `${r}: its admin socket is removed`);
  }
});

t.test('the README links only files of the repository', async (t) => {
  t.notMatch(README, /\.\.\/shared|\.\.\//, 'no path outside the repository');
  const linked = [...README.matchAll(/\]\(([^)#]+)\)|`((?:docs|ops|node|cmd|test|bench|storage|quorum|membership)\/[\w./-]+\.(?:md|ts|yml|yaml|json))`/g)]
    .map((m) => m[1] ?? m[2]!).filter((p) => !/^https?:/.test(p));
  t.ok(linked.includes('docs/architecture.md'), 'the architecture document is linked');
  for (const p of linked) t.ok(existsSync(join(REPO_ROOT, p)), `${p} exists`);
});

t.test('the embedding example waits for ready() and trusts the agents CA on both nodes', async (t) => {
  const embedding = sectionBlocks(README, 'Embedding').find((b) => b.lang === 'ts');
  t.ok(embedding !== undefined, 'the Embedding section has a TypeScript example');
  const calls = embedding!.text.split('await createNode(').slice(1);
  t.equal(calls.length, 2, 'a controller and an agent');
  for (const c of calls) t.match(c, /agentCaFiles: \['\/etc\/novaedge\/agents-ca\.pub'\]/, 'agentCaFiles names the agents CA');
  t.match(embedding!.text, /await controller\.ready\(/, 'the controller is awaited ready before its first write');
  t.ok(embedding!.text.indexOf('controller.ready(') < embedding!.text.indexOf('controller.apply('), 'ready() comes before the first write');
});
