// `npm start`'s local federation as a user runs it: a separate process that comes up (three
// controllers, two agents), replicates a write to every node, answers novactl on the sockets it
// prints, stops cleanly on SIGINT, and reuses its keys and data on the next start.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../helpers/free-ports.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { waitFor } from '../helpers/wait-for.ts';

const script = fileURLToPath(new URL('../../cmd/local-federation.ts', import.meta.url));

async function run(dir: string, ports: number[], whileUp: () => Promise<void> = async () => undefined): Promise<string> {
  const env = { ...process.env, NOVAEDGE_DATA: dir, NOVAEDGE_PORTS: ports.slice(0, 5).join(','), NOVAEDGE_METRICS_PORTS: ports.slice(5).join(',') };
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready within 60 s:\n${out}`)); }, 60_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('federation ready')) { clearTimeout(deadline); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(deadline); reject(new Error(`exited with ${code} before ready:\n${out}`)); });
  });
  await ready;
  await whileUp();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  const code = await exited;
  if (code !== 0) throw new Error(`exit code ${code} after SIGINT:\n${out}`);
  return out;
}

t.test('npm start: three controllers and two agents replicate, answer novactl, stop on Ctrl-C, and reuse their data', async (t) => {
  // Unix socket paths are short (~107 bytes): the data directory goes under the system temp dir.
  const dir = mkdtempSync(join(tmpdir(), 'ne-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ports = await freePorts(10);
  const first = await run(dir, ports, async () => {
    // On a starved machine the fast profile's 200 ms health checks can time out for a moment and
    // send the agent Autonomous; it comes back once they pass again. Wait for that, with a deadline.
    let last = '';
    const agent = await waitFor('edge-1 to report State: Connected', async () => {
      last = (await novactl(['--socket', join(dir, 'edge-1', 'admin.sock'), 'agent', 'status'])).stdout;
      return /State: Connected/.test(last) ? last : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 }, () => last);
    t.match(agent, /State: Connected/, 'the agent answers on its socket');
    const got = await novactl(['--socket', join(dir, 'edge-2', 'admin.sock'), 'get', 'proxyroute', 'test-route', '-o', 'json']);
    t.match(JSON.parse(got.stdout), { kind: 'ProxyRoute', metadata: { name: 'test-route' } }, 'the route is on edge-2');
  });
  t.match(first, /resources held by us-west: 0/);
  t.match(first, /identical on eu-west, ap-east, edge-1 and edge-2 after [\d.]+ ms/);
  t.match(first, /npm run -s novactl -- --socket \S+us-west\/admin.sock federation status/);
  t.match(first, /eu-west +eu-west +Healthy/);
  t.match(first, /ap-east +ap-east +Healthy/);
  t.match(first, /stopped/);
  t.notOk(existsSync(join(dir, 'us-west', 'admin.sock')), 'sockets removed on Ctrl-C');
  const second = await run(dir, ports);
  t.match(second, /resources held by us-west: 1/, 'the second start reopens the same data (same keys, same stores)');
});
