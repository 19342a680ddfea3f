// `novactl federation members add … --endpoint E`: the subcommand's --endpoint (the new controller's
// address) shares its flag with the global --endpoint (a remote novactl's controllers). Given after
// `add`, it is add's: the call goes to the admin socket with E in params.endpoints, and global options
// still work wherever they are given.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { defineMethod } from '../../node/admin/method-table.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { runNovactl } from '../../cmd/novactl/program.ts';

const PEER = '12D3KooWCrtRQYsLZu5nCVm6Mm5DjsX4w9tC8v69cw3S6utNcW1Q';

t.test('members add takes its own --endpoint, before or after the global options', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ne-add-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const calls: unknown[] = [];
  const server = await startAdminServer({
    timers: REAL_TIMERS, socketPath: join(dir, 'admin.sock'), methods: {
      'federation.members.add': defineMethod({
        params: (raw) => raw as { name: string; peerId: string; endpoints: string[] },
        handler: async (p) => {
          calls.push(p);
          return { epoch: 2, added: { name: p.name, peerId: p.peerId, endpoints: p.endpoints, region: '', autoPromote: true }, voters: ['a'], learners: [p.name] };
        },
      }),
    },
  });
  t.teardown(() => server.close());
  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const out = { stdout: '', stderr: '' };
    const code = await runNovactl(args, { stdout: (s) => { out.stdout += s; }, stderr: (s) => { out.stderr += s; }, stdin: process.stdin, nowMs: () => Date.now() });
    return { code, ...out };
  };

  const first = await run(['--socket', server.path, 'federation', 'members', 'add', 'sa-east', '--peer-id', PEER,
    '--endpoint', '/ip4/127.0.0.1/tcp/7106', '/ip4/127.0.0.1/tcp/7107', '--region', 'sa', '--no-promote']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^added sa-east/);
  t.same(calls.shift(), { name: 'sa-east', peerId: PEER, endpoints: ['/ip4/127.0.0.1/tcp/7106', '/ip4/127.0.0.1/tcp/7107'], region: 'sa', promote: false },
    'every endpoint given after add is add\'s');

  const second = await run(['federation', 'members', 'add', 'sa-east', '--endpoint=/ip4/127.0.0.1/tcp/7106', '--peer-id', PEER, '--socket', server.path, '--timeout', '5s']);
  t.equal(second.code, 0, second.stderr);
  t.same(calls.shift(), { name: 'sa-east', peerId: PEER, endpoints: ['/ip4/127.0.0.1/tcp/7106'], promote: true }, '--endpoint=E too; --socket and --timeout after it stay global');

  const missing = await run(['--socket', server.path, 'federation', 'members', 'add', 'sa-east', '--peer-id', PEER]);
  t.equal(missing.code, 2, 'without --endpoint: a usage error');
  t.match(missing.stderr, /required option '--endpoint <multiaddr\.\.\.>' not specified/);
  t.equal(calls.length, 0);
});
