// The scenario interpreter and runner, against a toy driver (test/sim/script/toy-driver.ts): what it
// asks the driver, what it prints, what it refuses, and how a file is checked and rewritten.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/temp-dir.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { ScenarioInterpreter } from './script/interpreter.ts';
import { fmtStatus } from './script/render.ts';
import { describeMismatches, runScenarioFile, runScenarioText } from './script/runner.ts';
import { ToyDriver } from './script/toy-driver.ts';

const SCENARIO = `# Three controllers, one agent; a and x are cut off from b and c.
cluster controllers=a,b,c agents=x seed=7 leaseMs=4000
----
ok

write a ProxyRoute/default/k spec.v=1 spec.host="a b" quorum
----
ok a:1 hlc=0.000s vv=a:1

read x ProxyRoute/default/k
----
{"spec":{"host":"a b","v":1}} origin=a hlc=0.000s vv=a:1

partition a x | b c
----
> 0.007s a: fenced NO_QUORUM votes=1/3 need=2

write a ProxyRoute/default/k spec.v=2
----
FENCED

write b ProxyRoute/default/k spec.v=3 nowait
----
started op 4

wait op 4
----
ok after 0.000s
ok b:1 hlc=0.007s vv=a:1,b:1

status a x
----
a: Partitioned partition=Confirmed writes=fenced(NO_QUORUM) votes=1/3 need=2 peers=0/2
  b Unhealthy lag=1.5s agents=0
  c Unhealthy lag=1.5s agents=0
x: Connected controller=a failovers=0 failbacks=0 records=1 root=a15a3387 vote=-
  a connected healthy current
  b
  c

fence a b
----
a: fenced NO_QUORUM votes=1/3 need=2
b: accepting votes=2/3 need=2

check converged within=1s
----
NOT converged after 1.000s: a,x=a15a3387 b,c=e36793b4

heal
----
> 1.007s a: accepting votes=3/3 need=2

check converged
----
converged after 0.000s: 4 nodes

tick 2s
----
ok

check safety
----
ok
writes: 1 FENCED, 1 ok local, 1 ok quorum
`;

t.test('a scenario: commands, events, outputs', async (t) => {
  const driver = new ToyDriver();
  const { result, actualText } = await runScenarioText(SCENARIO, 'toy.txt', () => driver);
  t.same(result.mismatches, [], describeMismatches(result));
  t.equal(actualText, SCENARIO, 'rendered back unchanged');
  t.ok(driver.stopped, 'the driver is stopped at the end');
  t.same(driver.calls.filter((c) => c.startsWith('cut')), [
    'cut a>b drop', 'cut a>c drop', 'cut x>b drop', 'cut x>c drop', 'cut b>a drop', 'cut b>x drop', 'cut c>a drop', 'cut c>x drop',
  ]);
  t.match(driver.calls[0], /^start \{"controllers":\["a","b","c"\],"agents":\["x"\],"seed":7,"strategy":"LastWriterWins","quorumMode":"Controllers","options":\{"leaseMs":"4000"\}\}$/);
});

t.test('faults and clocks reach the driver as the language says', async (t) => {
  const driver = new ToyDriver();
  const it = new ScenarioInterpreter(driver);
  const run = (command: string, input = '') => it.run({ command, input });
  await run('cluster controllers=a,b,c');
  driver.calls.length = 0;
  // One way: a's packets reach neither b nor c, so a exchanges with nobody (the toy fences by exchange).
  t.equal(await run('partition a -> b c mode=reject'), '> 0.000s a: fenced NO_QUORUM votes=1/3 need=2');
  t.equal(await run('heal a b'), '> 0.000s a: accepting votes=3/3 need=2', 'a-b is back, and b reaches c');
  await run('heal');
  await run('reset a b');
  await run('silent a c');
  await run('halfopen b c');
  await run('net delay=1ms-20ms drop=1% dup=2% reorder=5%');
  await run('net a b delay=30ms');
  await run('skew a +8s');
  await run('jump a -2s');
  await run('drift b 200');
  t.same(driver.calls, [
    'cut a>b reject', 'cut a>c reject', 'heal [["a","b"]]', 'heal "all"', 'reset a b', 'silence a c', 'halfOpen b c',
    'setLink * * {"delayMinMs":1,"delayMaxMs":20,"dropRate":0.01,"duplicateRate":0.02,"reorderRate":0.05}',
    'setLink a b {"delayMinMs":30,"delayMaxMs":30}', 'setSkew a 8000', 'setSkew a 6000', 'setDrift b 200',
  ]);
  t.equal(await run('crash c'), 'ok');
  t.equal(await run('status c'), 'c: down');
  // a's clock runs 6 s ahead: its stamps say so.
  t.equal(await run('write a ProxyRoute/default/j spec.v=1'), 'ok a:1 hlc=6.000s vv=a:1');
  t.equal(await run('crash b'), '> 0.000s a: fenced NO_QUORUM votes=1/3 need=2');
  t.equal(await run('write a ProxyRoute/default/j spec.v=2'), 'FENCED');
  await run('restart b');
  await run('restart c');
  await run('skew a 0');
  t.equal(await run('events off'), 'ok');
  t.equal(await run('write a ProxyRoute/default/j', '{"apiVersion":"v1","kind":"ProxyRoute","metadata":{"name":"j","namespace":"default"},"spec":{"x":[1]}}'),
    'ok a:2 hlc=0.000s vv=a:2');
  t.equal(await run('read b ProxyRoute/default/j'), '{"spec":{"x":[1]}} origin=a hlc=0.000s vv=a:2', 'reads take the toy 2 ms');
  t.equal(await run('read b ProxyRoute/default/none'), 'not found');
  t.equal(await run('delete a ProxyRoute/default/j quorum'), 'ok a:3 hlc=0.004s vv=a:3');
  t.equal(await run('read c ProxyRoute/default/j'), 'deleted origin=a hlc=0.004s vv=a:3');
  t.equal(await run('write a ProxyRoute/default/j spec.x=[1]'), 'ok a:4 hlc=0.011s vv=a:4');
  t.equal(await run('write a ProxyRoute/default/j spec.x=[1]'), 'ok unchanged hlc=0.011s vv=a:4');
  t.equal(await run('resolve a ProxyRoute/default/j keep=local'), 'NO_CONFLICT');
  t.equal(await run('wait fenced a within=2s'), 'timed out after 2.000s: a: accepting votes=3/3 need=2');
  t.equal(await run('tick 0'), 'ok');
  t.equal(driver.nowMs(), 2011);
});

t.test('check safety prints the writes and the violations, and takes bound overrides', async (t) => {
  const driver = new ToyDriver();
  const it = new ScenarioInterpreter(driver);
  const run = (command: string) => it.run({ command, input: '' });
  await run('cluster controllers=a,b,c agents=x');
  // The toy's fence counts a chain through the agent (x is on no side of the partition, so it
  // bridges both): a keeps accepting though no controller can exchange data with it. The checker
  // judges by controllers, and says so.
  await run('partition a | b c');
  await run('tick 2s');
  t.equal(await run('write a ProxyRoute/default/k spec.v=1'), 'ok a:1 hlc=2.000s vv=a:1');
  t.equal(await run('write b ProxyRoute/default/k spec.v=2'), 'ok b:1 hlc=2.000s vv=a:1,b:1');
  t.equal(await run('check safety split-brain'), [
    '1 violation',
    'writes: 2 ok local',
    '[split-brain] 2.000s a: a accepted write #1 (ProxyRoute/default/k) at 2.000s, but it could exchange data directly with at most 1 of 3 controllers (itself included; quorum 2) in the 1.000s before, so another side may have been accepting too',
  ].join('\n'));
  t.equal(await run('check safety split-brain splitBrainMs=3s'), 'ok\nwrites: 2 ok local');
  t.equal(await run('check safety quorum-writes local-writes'), 'ok\nwrites: 2 ok local');
  await t.rejects(run('check safety nonsense'), { code: 'SCRIPT', message: /unknown checker "nonsense"/ });
  await t.rejects(run('check safety foo=1s'), { message: /unknown bound "foo"/ });
});

t.test('commands the language refuses name the file and line; the driver is stopped anyway', async (t) => {
  const bad = async (line: string, message: RegExp, prefix = 'cluster controllers=a,b,c agents=x\n----\nok\n\n') => {
    const driver = new ToyDriver();
    await t.rejects(runScenarioText(`${prefix}${line}\n----\n`, 'bad.txt', () => driver), { code: 'SCENARIO', message }, line);
    t.ok(driver.stopped, `${line}: stopped`);
  };
  await bad('tick 1s', /^bad\.txt:1: tick 1s: "tick" before "cluster"/, '');
  await bad('frobnicate a', /^bad\.txt:5: frobnicate a: unknown command "frobnicate"/);
  await bad('partition a | q', /unknown node "q" \(a, b, c, x\)/);
  await bad('partition a b', /at least two non-empty sides/);
  await bad('partition a | a b', /a node on two sides/);
  await bad('tick 3', /tick "3" is not a duration like 3s/);
  await bad('tick -1s', /cannot go back in time/);
  await bad('write a ProxyRoute/k', /key "ProxyRoute\/k" is not Kind\/namespace\/name/);
  await bad('write a ProxyRoute/default/k quorum local', /quorum or local, not both/);
  await bad('write a ProxyRoute/default/k fast', /unknown flag "fast"/);
  await bad('resolve a ProxyRoute/default/k', /keep=local or keep=remote/);
  await bad('wait fenced x', /"x" is not a controller/);
  await bad('wait op 99', /no operation 99/);
  await bad('skew a', /takes a node and a duration/);
  await bad('heal a', /no node or two/);
  await bad('reset a a', /two different nodes/);
  await bad('net delay=20ms-1ms', /not a range/);
  await bad('cluster controllers=a', /already started/);
  await bad('cluster controllers=a,a', /node names must differ/, '');
  await bad('cluster controllers=a strategy=Nope', /strategy must be one of LastWriterWins, Merge, Manual/, '');
  await bad('cluster controllers=a typo=1', /bad\.txt:1: cluster controllers=a typo=1: threw Error: unknown cluster option typo/, '');
});

t.test('runScenarioFile compares, reports mismatches, and rewrites with SIM_REWRITE', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'draft.txt');
  const draft = '# A draft: outputs left empty.\ncluster controllers=a,b,c\n----\n\nwrite a ProxyRoute/default/k spec.v=1 quorum\n----\n\nfence a\n----\n';
  await writeFile(path, draft);
  const first = await runScenarioFile(path, () => new ToyDriver(), { rewrite: false });
  t.equal(first.rewritten, false);
  t.same(first.mismatches.map((m) => [m.line, m.command, m.expected, m.actual]), [
    [2, 'cluster controllers=a,b,c', '', 'ok'],
    [5, 'write a ProxyRoute/default/k spec.v=1 quorum', '', 'ok a:1 hlc=0.000s vv=a:1'],
    [8, 'fence a', '', 'a: accepting votes=3/3 need=2'],
  ]);
  t.match(describeMismatches(first), /draft\.txt:5: write a ProxyRoute\/default\/k spec\.v=1 quorum\nexpected:\n {2}\(nothing\)\nactual:\n {2}ok a:1 hlc=0\.000s vv=a:1/);
  t.equal(await readFile(path, 'utf8'), draft, 'not rewritten without being asked');
  process.env.SIM_REWRITE = '1';
  t.teardown(() => { delete process.env.SIM_REWRITE; });
  const second = await runScenarioFile(path, () => new ToyDriver());
  t.same([second.rewritten, second.mismatches], [true, []]);
  t.equal(await readFile(path, 'utf8'), '# A draft: outputs left empty.\ncluster controllers=a,b,c\n----\nok\n\nwrite a ProxyRoute/default/k spec.v=1 quorum\n----\nok a:1 hlc=0.000s vv=a:1\n\nfence a\n----\na: accepting votes=3/3 need=2\n');
  delete process.env.SIM_REWRITE;
  const third = await runScenarioFile(path, () => new ToyDriver());
  t.same([third.rewritten, third.mismatches, third.blocks], [false, [], 3]);
});

t.test('the drafts in testdata are well-formed: every command runs (against the toy; outputs not compared)', async (t) => {
  const dir = new URL('./testdata/', import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  t.ok(files.length >= 5, 'drafts exist');
  for (const f of files) {
    const { result } = await runScenarioText(await readFile(new URL(f, dir), 'utf8'), f, () => new ToyDriver());
    t.ok(result.blocks > 3, `${f}: ${result.blocks} commands ran`);
  }
});

t.test('status names a controller an agent has not authenticated yet by its endpoint host', async (t) => {
  const base = { node: 'x', role: 'agent' as const, running: true as const, paused: false };
  const status = {
    state: 'Autonomous', controller: undefined, failovers: 0, failbacks: 0, records: 0, merkleRoot: 'abcdef0123', vote: { holder: undefined },
    controllers: [
      { name: undefined, endpoint: '/dns4/a/tcp/9090/p2p/12D3KooWJX', connected: false, healthy: false, current: false },
      { name: 'b', endpoint: '/dns4/b/tcp/9090/p2p/12D3KooWLA', connected: true, healthy: true, current: true },
      { name: undefined, endpoint: '/ip4/10.0.0.3/tcp/9090', connected: false, healthy: false, current: false },
    ],
  } as unknown as AgentStatus;
  t.equal(fmtStatus({ ...base, status }), 'x: Autonomous controller=- failovers=0 failbacks=0 records=0 root=abcdef01 vote=-\n  ?a\n  b connected healthy current\n  ?/ip4/10.0.0.3/tcp/9090');
});
