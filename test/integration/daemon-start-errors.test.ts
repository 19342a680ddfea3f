// Issue 19 §2: start failures a user can act on. A listen port in use was a JSON stack trace about
// `transportManager.faultTolerance`; a data directory held by another daemon was "Database failed to
// open"; `npm start` with a metrics port taken was an uncaught stack trace. Each is now one line on
// stderr naming the code, the field, its value and the fix, with exit code 3.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { controllerYaml, type ControllerPlan } from '../helpers/daemon-config.ts';
import { REPO_ROOT, spawnDaemon } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { writePki } from '../helpers/pki-files.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const EXIT_UNAVAILABLE = 3;

async function occupy(t: import('tap').Test, port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

/** One controller's config file (no other members); `edit` changes its YAML. */
async function oneController(t: import('tap').Test, name = 'solo', edit: (yaml: string) => string = (y) => y): Promise<{ file: string; plan: ControllerPlan; dir: string }> {
  const dir = t.testdir();
  const pki = await writePki(dir, 'err-fed', [{ name, role: 'controller' }]);
  const [port, metricsPort] = await freePorts(2);
  const plan: ControllerPlan = { name, port: port!, metricsPort: metricsPort! };
  const sockets = await tempDir(t, 'nvd-');
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, edit(controllerYaml(pki, dir, sockets, plan, [plan])));
  return { file, plan, dir };
}

function oneLine(t: import('tap').Test, stderr: string, re: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(stderr.slice(0, 2000))}`);
  t.match(lines[0], re);
  t.notMatch(stderr, /transportManager|faultTolerance|\n\s+at |Database failed to open/, 'no stack trace, no library internals');
}

t.test('the listen port in use: LISTEN_ADDRESS_IN_USE naming spec.localMember.endpoint, exit 3', async (t) => {
  // node.listen left out: the address comes from spec.localMember.endpoint.
  const { file, plan } = await oneController(t, 'solo', (y) => y.replace(/^ {2}listen: .*\n/m, ''));
  await occupy(t, plan.port);
  const d = spawnDaemon(t, ['--config', file]);
  const exit = await d.exited;
  t.equal(exit.code, EXIT_UNAVAILABLE);
  oneLine(t, d.stderr(), new RegExp(`^novaedge: LISTEN_ADDRESS_IN_USE: spec\\.localMember\\.endpoint = 127\\.0\\.0\\.1:${plan.port} \\(listening on /ip4/127\\.0\\.0\\.1/tcp/${plan.port}\\): another process is listening on this address; stop it, or choose a free port in spec\\.localMember\\.endpoint, or set node\\.listen$`));
  t.notOk(d.logs.some((l) => l.level === 60), 'no fatal JSON stack');
});

t.test('a data directory held by another daemon: DATA_DIR_LOCKED naming node.dataDir, exit 3', async (t) => {
  const first = await oneController(t, 'solo');
  const running = spawnDaemon(t, ['--config', first.file]);
  await running.waitForLog('novaedge ready', 30_000);
  // The same member again, same data directory, its own ports and socket.
  const [port, metricsPort] = await freePorts(2);
  const second = join(first.dir, 'second.yaml');
  const { readFile } = await import('node:fs/promises');
  await writeFile(second, (await readFile(first.file, 'utf8'))
    .replaceAll(String(first.plan.port), String(port)).replaceAll(String(first.plan.metricsPort), String(metricsPort)).replace('solo.sock', 'second.sock'));
  const d = spawnDaemon(t, ['--config', second]);
  const exit = await d.exited;
  t.equal(exit.code, EXIT_UNAVAILABLE);
  oneLine(t, d.stderr(), new RegExp(`^novaedge: DATA_DIR_LOCKED: node\\.dataDir = ${join(first.dir, 'solo').replaceAll('.', '\\.')}: another process has this data directory open .*give this node its own node\\.dataDir$`));
  t.equal((await running.stop()).code, 0, 'the first daemon is unharmed and stops cleanly');
});

t.test('the metrics port in use: METRICS_ADDRESS_IN_USE naming node.metricsAddress, exit 3', async (t) => {
  const { file, plan } = await oneController(t);
  await occupy(t, plan.metricsPort);
  const d = spawnDaemon(t, ['--config', file]);
  const exit = await d.exited;
  t.equal(exit.code, EXIT_UNAVAILABLE);
  oneLine(t, d.stderr(), new RegExp(`^novaedge: METRICS_ADDRESS_IN_USE: node\\.metricsAddress = 127\\.0\\.0\\.1:${plan.metricsPort}: another process is listening on this address; stop it, or choose a free port in node\\.metricsAddress \\(port 0 picks a free one\\)$`));
});

t.test('`npm start` with a metrics port taken: one line naming NOVAEDGE_METRICS_PORTS, exit 3', async (t) => {
  const ports = await freePorts(6);
  await occupy(t, ports[5]!);
  const env: NodeJS.ProcessEnv = { ...process.env, NOVAEDGE_DATA: join(await tempDir(t, 'nvl-'), 'local'), NOVAEDGE_PORTS: ports.slice(0, 5).join(','), NOVAEDGE_METRICS_PORTS: `0,${ports[5]},0,0,0` };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['cmd/local-federation.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.equal(code, EXIT_UNAVAILABLE);
  oneLine(t, stderr, new RegExp(`^npm start: METRICS_ADDRESS_IN_USE: NOVAEDGE_METRICS_PORTS = 0,${ports[5]},0,0,0: port ${ports[5]} is in use by another process; stop it, or set NOVAEDGE_METRICS_PORTS to five free ports \\(0 picks a free one\\)$`));
});
