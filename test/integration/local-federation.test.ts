// `npm start`'s local federation as a user runs it: a separate process that comes up (three
// controllers, two agents), replicates a write to every node, answers novactl on the sockets it
// prints, stops cleanly on SIGINT, and reuses its keys and data on the next start. The fourth
// controller it prepares (sa-east) joins with the two commands it prints: the daemon on the YAML file
// it wrote, then `federation members add` on us-west; the next start says sa-east is a member.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printLogTailsOnFailure } from '../helpers/daemon-logs.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { loadConfigFile } from '../../node/config/file-config.ts';

const script = fileURLToPath(new URL('../../cmd/local-federation.ts', import.meta.url));

// Twelve ports: six for NOVAEDGE_PORTS (the sixth is sa-east's), six for NOVAEDGE_METRICS_PORTS.
async function run(dir: string, ports: number[], whileUp: (out: string) => Promise<void> = async () => undefined): Promise<string> {
  const env = { ...process.env, NOVAEDGE_DATA: dir, NOVAEDGE_PORTS: ports.slice(0, 6).join(','), NOVAEDGE_METRICS_PORTS: ports.slice(6).join(',') };
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
  try {
    await whileUp(out);
  } catch (err) {
    child.kill('SIGKILL'); // a failed check must not leave the federation running
    throw err;
  }
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
  const ports = await freePorts(12);
  const daemons = new Map<string, DaemonProcess>();
  printLogTailsOnFailure(t, daemons);
  const first = await run(dir, ports, async (out) => {
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

    // The fourth controller, with the commands as printed: its YAML joins through us-west alone.
    const usWestSocket = join(dir, 'us-west', 'admin.sock').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); // in a pattern
    const startLine = /^ {2}npm run -s daemon -- (--config (\S+) --log-format pretty)$/m.exec(out);
    const addLine = new RegExp(`^ {2}npm run -s novactl -- (--socket ${usWestSocket} federation members add sa-east --peer-id (12D3KooW\\w+) --endpoint /ip4/127\\.0\\.0\\.1/tcp/${ports[5]})$`, 'm').exec(out);
    const listLine = new RegExp(`^ {2}npm run -s novactl -- (--socket ${usWestSocket} federation members list)$`, 'm').exec(out);
    t.ok(startLine, 'npm start prints how to start sa-east');
    t.ok(addLine, 'and the command that adds it on us-west, at the sixth port');
    t.ok(listLine, 'and the one that lists the members');
    if (startLine === null || addLine === null || listLine === null) return;
    t.equal(startLine[2], join(dir, 'sa-east.yaml'));
    const cfg = await loadConfigFile(startLine[2]!);
    if (cfg.role !== 'controller') throw new Error(`sa-east.yaml is a ${cfg.role} config`);
    t.equal(cfg.localMember.name, 'sa-east');
    t.equal(cfg.controller.join, true, 'a joiner: spec.bootstrap, no spec.members');
    t.same(cfg.members, []);
    t.match(cfg.controller.membership.bootstrap, [new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${ports[0]}/p2p/12D3KooW\\w+$`)], 'us-west, with its peer ID');
    t.same(cfg.controller.membership.listen, [`/ip4/127.0.0.1/tcp/${ports[5]}`]);

    const saEast = spawnDaemon(t, startLine[1]!.split(' '));
    daemons.set('sa-east', saEast);
    const added = await novactl(addLine[1]!.split(' '));
    t.equal(added.code, 0, `members add on us-west${added.code === 0 ? '' : `: ${added.stderr}`}`);
    if (added.code !== 0) return;
    t.match(added.stdout, new RegExp(`^added sa-east \\(${addLine[2]}\\) as a learner at membership epoch 2`));
    const list = await waitFor('sa-east to be a voter in us-west\'s list', async () => {
      last = (await novactl(listLine[1]!.split(' '))).stdout;
      return /^membership epoch \d+: 4 voters, 0 learners$/m.test(last) && /^sa-east +voter /m.test(last) ? last : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 }, () => last);
    t.match(list, /^sa-east +voter +12D3KooW\w+ .* Yes$/m, 'sa-east is a connected voter');
    t.equal((await saEast.stop('SIGTERM')).code, 0, 'sa-east stops cleanly');
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
  t.match(second, /^sa-east, the fourth controller, is a member \(voter at membership epoch \d+\); start it with:\n {2}npm run -s daemon -- --config \S+sa-east\.yaml/m,
    'and knows sa-east is a member: it prints how to start it, not how to add it again');
  t.notMatch(second, /federation members add/);
});
