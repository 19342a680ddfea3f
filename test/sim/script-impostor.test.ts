// The `impostor` command of the scenario language: what it asks the driver, and what it refuses. The
// attacker itself (a real membership node with a CA-issued certificate for a member's name and a
// fresh key) runs in test/sim/testdata/regression-impostor-peer-id.txt.
import t from 'tap';
import { runScenarioText } from './script/runner.ts';
import { ToyDriver } from './script/toy-driver.ts';

const CLUSTER = 'cluster controllers=a,b,c agents=x\n----\nok\n\n';

t.test('impostor m claims b asks the driver for an attacker claiming b', async (t) => {
  const driver = new ToyDriver();
  const r = await runScenarioText(`${CLUSTER}impostor mallory claims b\n----\nok\n\nimpostor eve claims x\n----\nok\n`, 'ok.txt', () => driver);
  t.same(r.result.mismatches, []);
  t.same(driver.calls.filter((c) => c.startsWith('impostor')), ['impostor mallory b', 'impostor eve x']);
});

t.test('impostor refuses a bad command, a member\'s name, an unknown member, a driver without attackers', async (t) => {
  const bad = async (line: string, message: RegExp, driver = new ToyDriver()) => {
    await t.rejects(runScenarioText(`${CLUSTER}${line}\n----\n`, 'bad.txt', () => driver), { code: 'SCENARIO', message }, line);
  };
  await bad('impostor mallory b', /usage: impostor m claims b/);
  await bad('impostor mallory claims', /usage: impostor m claims b/);
  await bad('impostor mallory claims b within=1s', /unknown option "within"/);
  await bad('impostor a claims b', /"a" is a member's name/);
  await bad('impostor mallory claims q', /unknown node "q"/);
  // A driver that leaves the optional method out.
  await bad('impostor mallory claims b', /this driver has no attackers/, Object.assign(new ToyDriver(), { impostor: undefined }));
});
