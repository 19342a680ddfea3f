// `novactl wait` and `novaedge --pid-file` (issue 19, §3): a script waits for a daemon with a
// deadline, and a daemon that dies at start fails the wait at once with DAEMON_EXITED instead of
// leaving the script waiting forever (the README's old `up` looped on the socket file for ever).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { novactl, REPO_ROOT } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';

// The pid of a process that has exited.
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

t.test('a daemon that died before it was formed fails the wait at once', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'x.pid');
  writeFileSync(pidFile, `${deadPid()}\n`);
  const t0 = performance.now();
  const r = await novactl(['--socket', join(dir, 'x.sock'), '--timeout', '60s', 'wait', 'formed', '--pid-file', pidFile]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: DAEMON_EXITED: novaedge \(pid \d+, .*x\.pid\) exited before it was formed/);
  t.ok(performance.now() - t0 < 30_000, 'long before the 60 s deadline');
});

t.test('without a pid file the wait ends at its deadline, saying what is missing', async (t) => {
  const dir = await tempDir(t);
  const r = await novactl(['--socket', join(dir, 'x.sock'), '--timeout', '300ms', 'wait', 'started']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: WAIT_TIMEOUT: not started after 300ms: NO_SERVER/);
  const stopped = await novactl(['--socket', join(dir, 'x.sock'), 'wait', 'stopped']);
  t.equal(stopped.code, 0, 'nothing answers: stopped');
});

t.test('novaedge --pid-file: a failed start leaves a pid file naming a dead process, which wait reports', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'd.pid');
  const config = join(dir, 'bad.yaml');
  // Valid YAML, but its key file does not exist: the start fails after the pid file is written.
  writeFileSync(config, [
    'apiVersion: novaedge.io/v1alpha1', 'kind: NovaEdgeFederation', 'metadata: { name: f }',
    'node: { identityKeyFile: missing.key, certificateFile: missing.cert, controllerCaFiles: [missing.pub], dataDir: data, adminSocket: d.sock }',
    'spec: { federationID: f, localMember: { name: a, region: r, endpoint: "127.0.0.1:1" }, members: [] }', '',
  ].join('\n'));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const daemon = spawn(process.execPath, ['cmd/novaedge.ts', '--config', config, '--pid-file', pidFile], { cwd: REPO_ROOT, env, stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => daemon.on('close', resolve));
  t.not(code, 0, 'the start failed');
  t.ok(existsSync(pidFile), 'the pid file is left behind');
  const r = await novactl(['--socket', join(dir, 'd.sock'), 'wait', 'formed', '--pid-file', pidFile]);
  t.match(r.stderr, /DAEMON_EXITED/);
  const again = spawnSync(process.execPath, ['cmd/novaedge.ts', '--config', config, '--pid-file', pidFile], { cwd: REPO_ROOT, env });
  t.notMatch(again.stderr.toString(), /PID_FILE_HELD/, 'a pid file naming a dead process is replaced');
});
