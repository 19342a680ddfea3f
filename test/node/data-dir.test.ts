// Issue 17 item 5: a dataDir created beforehand with mode 0755 was left so, its LevelDB files
// readable by every local user. At start a controller and an agent restrict it to 0700 (and log
// it), so another user can no longer read what is inside; a directory that cannot be restricted
// (another user owns it) is refused with DATA_DIR_INSECURE, like key files.
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { AgentNode } from '../../node/agent/agent-node.ts';
import { FAST_AGENT } from '../../node/agent/agent-config.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { DATA_DIR_MODE, DataDirError, prepareDataDir } from '../../node/util/data-dir.ts';
import type { Logger } from '../../node/util/logger.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { REPO_ROOT } from '../helpers/daemon-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.setTimeout(120_000);

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

type LogLine = { level: number; msg: string; path?: string; mode?: string };
function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as LogLine); } }) };
}

// Run `code` (an ES module body) as another user; resolves to its stdout and stderr. (The test
// runner's process tracking also runs in the child and may complain on stderr that it cannot write
// its files as that user; only stdout is asserted on.)
function runAs(uid: number, code: string): Promise<{ out: string; err: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }; // nothing of the test runner's hooks
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { uid, gid: uid, cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  return new Promise((resolve) => child.once('close', () => resolve({ out, err })));
}

// A dataDir left world-readable by an earlier install: the directory 0755, a file 0644, a subdirectory.
function preCreate(dir: string): string {
  mkdirSync(join(dir, 'old'), { recursive: true });
  writeFileSync(join(dir, 'old', 'LOG'), 'secret store bytes\n', { mode: 0o644 });
  chmodSync(join(dir, 'old', 'LOG'), 0o644);
  chmodSync(join(dir, 'old'), 0o755);
  chmodSync(dir, 0o755);
  return join(dir, 'old', 'LOG');
}

t.test('a controller and an agent restrict a pre-created 0755 dataDir to 0700 at start', async (t) => {
  const root = await tempDir(t, 'nvdata-');
  chmodSync(root, 0o755); // let other users reach the dataDirs, as /var/lib would
  const fed = await makeFederation('data-fed');
  const [c, a] = await planMembers(fed, [{ name: 'c1', role: 'controller' }, { name: 'edge-1', role: 'agent' }]);
  const cDir = join(root, 'c1');
  const aDir = join(root, 'edge-1');
  mkdirSync(cDir);
  mkdirSync(aDir);
  const cFile = preCreate(cDir);
  const aFile = preCreate(aDir);
  if (isRoot) {
    const before = await runAs(NOBODY, `import { readFileSync } from 'node:fs'; process.stdout.write(readFileSync(${JSON.stringify(cFile)}, 'utf8'));`);
    t.equal(before.out, 'secret store bytes\n', 'before the start another user can read the file (the attack)');
  }

  const cLog = memoryLogger();
  const controller = await ControllerNode.start({
    membership: memberConfig(fed, c!, []),
    replication: { dataDir: cDir, controllers: ['c1'] },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION, logger: cLog.logger });
  t.teardown(() => controller.stop());
  const aLog = memoryLogger();
  const agent = await AgentNode.start({
    membership: memberConfig(fed, a!, []),
    dataDir: aDir,
    controllers: { primary: { endpoint: c!.addr } },
  }, { membershipProfile: FAST_PROFILE, agentProfile: FAST_AGENT, logger: aLog.logger });
  t.teardown(() => agent.stop());

  for (const [who, dir, file, log] of [['controller', cDir, cFile, cLog], ['agent', aDir, aFile, aLog]] as const) {
    t.equal(modeOf(dir), DATA_DIR_MODE, `${who}: dataDir restricted to 0700`);
    t.equal(readFileSync(file, 'utf8'), 'secret store bytes\n', `${who}: what was inside is kept`);
    const warned = log.lines.find((l) => l.msg.startsWith('data directory was open to group or others'));
    t.ok(warned, `${who}: the change is logged`);
    t.equal(warned?.path, dir);
    t.equal(warned?.mode, '0755', `${who}: the old mode is logged`);
    if (isRoot) {
      const after = await runAs(NOBODY, `import { readFileSync } from 'node:fs'; try { readFileSync(${JSON.stringify(file)}); console.log('READ'); } catch (e) { console.log(e.code); }`);
      t.equal(after.out.trim(), 'EACCES', `${who}: another user can no longer read inside`);
    }
  }
});

t.test('prepareDataDir: created 0700, left alone when private, refused when not a directory', async (t) => {
  const root = await tempDir(t, 'nvdata-');
  const { logger, lines } = memoryLogger();
  const fresh = join(root, 'a', 'b');
  await prepareDataDir(fresh, logger);
  t.equal(modeOf(fresh), 0o700, 'created with mode 0700');
  chmodSync(fresh, 0o700);
  await prepareDataDir(fresh, logger);
  t.same(lines, [], 'nothing to log for a new or private directory');
  const groupOnly = join(root, 'g');
  mkdirSync(groupOnly, { mode: 0o750 });
  chmodSync(groupOnly, 0o750);
  await prepareDataDir(groupOnly, logger);
  t.equal(modeOf(groupOnly), 0o700, 'group access removed too');
  t.equal(lines.length, 1);
  const file = join(root, 'file');
  writeFileSync(file, 'x');
  await t.rejects(prepareDataDir(file, logger), { code: 'DATA_DIR_UNUSABLE' });
});

t.test('a 0755 dataDir owned by another user is refused with DATA_DIR_INSECURE', { skip: isRoot ? false : 'needs root to act as another user' }, async (t) => {
  const root = await tempDir(t, 'nvdata-');
  chmodSync(root, 0o755);
  const dir = join(root, 'theirs');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  chownSync(dir, 0, 0);
  // The node runs as nobody; the directory belongs to root.
  const moduleUrl = new URL('node/util/data-dir.ts', `file://${REPO_ROOT}`).href;
  const r = await runAs(NOBODY, `
    const { prepareDataDir } = await import(${JSON.stringify(moduleUrl)});
    const log = { warn: () => undefined };
    try { await prepareDataDir(${JSON.stringify(dir)}, log); console.log('STARTED'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`);
  const line = r.out.trim().split('\n').find((l) => l.startsWith('{'));
  const got = JSON.parse(line ?? '{}') as { code?: string; message?: string };
  t.equal(got.code, 'DATA_DIR_INSECURE', `refused (${r.out.trim() || r.err.trim()})`);
  t.match(got.message ?? '', /mode 0755 lets group or others read the store/);
  t.match(got.message ?? '', /fix: chown/);
  t.equal(modeOf(dir), 0o755, 'left as it was');
  t.ok(new DataDirError('DATA_DIR_INSECURE', dir, 'x') instanceof Error);
});
