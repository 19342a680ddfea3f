// Issue 19 §2: `novaedge --check` passed configs that then failed to start — a certificate issued for
// another peer ID (CERT_WRONG_PEER at start, after the data directory was created), an identity key
// of mode 0644. `--check` now checks the key material too (no network, never the data directory),
// and a start refuses such a file before it creates anything.
import t from 'tap';
import { chmodSync, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerYaml, type ControllerPlan } from '../helpers/daemon-config.ts';
import { spawnDaemon } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { writePki, type PkiFiles } from '../helpers/pki-files.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const EXIT_CONFIG = 2;

async function setup(t: import('tap').Test): Promise<{ pki: PkiFiles; file: string; dataDir: string; yaml: string }> {
  const dir = t.testdir();
  const pki = await writePki(dir, 'check-fed', [{ name: 'solo', role: 'controller' }, { name: 'other', role: 'controller' }]);
  const [port, metricsPort] = await freePorts(2);
  const plan: ControllerPlan = { name: 'solo', port: port!, metricsPort: metricsPort! };
  const yaml = controllerYaml(pki, dir, await tempDir(t, 'nvd-'), plan, [plan]);
  return { pki, file: join(dir, 'solo.yaml'), dataDir: join(dir, 'solo'), yaml };
}

async function run(t: import('tap').Test, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const d = spawnDaemon(t, args);
  const exit = await d.exited;
  return { code: exit.code, stdout: d.otherOutput.join('\n'), stderr: d.stderr() };
}

t.test('a valid file passes --check without creating the data directory', async (t) => {
  const s = await setup(t);
  await writeFile(s.file, s.yaml);
  const r = await run(t, ['--config', s.file, '--check']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /valid controller configuration for solo/);
  t.notOk(existsSync(s.dataDir), 'no data directory');
});

t.test('a certificate issued for another peer ID fails --check, and a start creates nothing', async (t) => {
  const s = await setup(t);
  await writeFile(s.file, s.yaml.replace(s.pki.members.get('solo')!.certificateFile, s.pki.members.get('other')!.certificateFile));
  const check = await run(t, ['--config', s.file, '--check']);
  t.equal(check.code, EXIT_CONFIG);
  t.match(check.stderr, /^node\.certificateFile: this node's own certificate would be refused by its peers: CERT_WRONG_PEER/m);
  t.notOk(existsSync(s.dataDir), 'no data directory after --check');
  const start = await run(t, ['--config', s.file]);
  t.equal(start.code, EXIT_CONFIG);
  t.match(start.stderr, /^node\.certificateFile: .*CERT_WRONG_PEER/m);
  t.notOk(existsSync(s.dataDir), 'no data directory after a refused start');
});

t.test('an identity key readable by others fails --check naming the field and the fix', async (t) => {
  const s = await setup(t);
  await writeFile(s.file, s.yaml);
  const key = s.pki.members.get('solo')!.keyFile;
  chmodSync(key, 0o644);
  const check = await run(t, ['--config', s.file, '--check']);
  t.equal(check.code, EXIT_CONFIG);
  t.match(check.stderr, new RegExp(`^node\\.identityKeyFile: KEY_FILE_INSECURE: .*mode 0644 .*chmod 600 ${key.replaceAll('.', '\\.')}`, 'm'));
  t.notOk(existsSync(s.dataDir), 'no data directory');
  const start = await run(t, ['--config', s.file]);
  t.equal(start.code, EXIT_CONFIG, 'a start is refused the same way');
  t.match(start.stderr, /^node\.identityKeyFile: KEY_FILE_INSECURE/m);
});
