// Configuration: defaults, profiles, and validation that names the field and checks relations.

import t from 'tap';
import { ConfigError } from '../../node/errors.ts';
import { FAST_PROFILE, MEMBERSHIP_DEFAULTS, resolveMembershipConfig, type MembershipConfig } from '../../node/config/membership-config.ts';
import { makeFederation, makeMember } from '../helpers/cert-fixtures.ts';

const fed = await makeFederation('cfg-fed');
const me = await makeMember(fed, 'eu-west-controller', 'controller');
const base: MembershipConfig = {
  federationId: fed.id,
  memberName: me.name,
  role: 'controller',
  region: 'eu-west',
  privateKey: me.privateKey,
  certificate: me.certificate,
  controllerCas: [fed.controllerCa.public],
};

function fieldsOf(cfg: MembershipConfig, profile?: Partial<MembershipConfig>): string[] {
  try {
    resolveMembershipConfig(cfg, profile);
  } catch (e) {
    if (e instanceof ConfigError) {
      if (e.code !== 'CONFIG_INVALID') throw new Error('wrong code');
      return e.issues.map((i) => i.field);
    }
    throw e;
  }
  return [];
}

t.test('defaults are the documented ones (the guide\'s healthCheck)', async (t) => {
  const r = resolveMembershipConfig(base);
  t.same(r.healthCheck, { intervalMs: 10_000, timeoutMs: 5_000, failureThreshold: 3, successThreshold: 1 });
  t.equal(r.authTimeoutMs, 5_000);
  t.same(r.listen, MEMBERSHIP_DEFAULTS.listen);
  t.equal(r.zone, '');
  t.same(r.reconnect, { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, controllerMaxDelayMs: 1_000 });
});

t.test('a profile sits between defaults and the configuration', async (t) => {
  const r = resolveMembershipConfig({ ...base, healthCheck: { failureThreshold: 5 } }, FAST_PROFILE);
  t.same(r.healthCheck, { intervalMs: 200, timeoutMs: 100, failureThreshold: 5, successThreshold: 1 });
  t.equal(r.rttIntervalMs, 1_000);
});

t.test('each invalid field is named', async (t) => {
  const cases: Array<[string, Partial<MembershipConfig> & Record<string, unknown>, string]> = [
    ['federation ID', { federationId: 'Prod Global' }, 'federationId'],
    ['member name', { memberName: 'EU_west' }, 'memberName'],
    ['role', { role: 'boss' as never }, 'role'],
    ['region', { region: '' }, 'region'],
    ['zone', { zone: 'a b' }, 'zone'],
    ['listen empty', { listen: [] }, 'listen'],
    ['listen not a multiaddr', { listen: ['127.0.0.1:9090'] }, 'listen[0]'],
    ['listen UDP', { listen: ['/ip4/127.0.0.1/udp/9090'] }, 'listen[0]'],
    ['listen with /p2p/', { listen: [`/ip4/127.0.0.1/tcp/1/p2p/${me.peerId.toString()}`] }, 'listen[0]'],
    ['bootstrap garbage', { bootstrap: ['/ip4/127.0.0.1/tcp/1', 'nonsense'] }, 'bootstrap[1]'],
    ['interval too small', { healthCheck: { intervalMs: 5 } }, 'healthCheck.intervalMs'],
    ['timeout = interval', { healthCheck: { intervalMs: 1000, timeoutMs: 1000 } }, 'healthCheck.timeoutMs'],
    ['timeout > interval', { healthCheck: { intervalMs: 1000, timeoutMs: 5000 } }, 'healthCheck.timeoutMs'],
    ['failureThreshold 0', { healthCheck: { failureThreshold: 0 } }, 'healthCheck.failureThreshold'],
    ['successThreshold fraction', { healthCheck: { successThreshold: 1.5 } }, 'healthCheck.successThreshold'],
    ['auth timeout too small', { authTimeoutMs: 10 }, 'authTimeoutMs'],
    ['auth timeout not a number', { authTimeoutMs: '5s' as never }, 'authTimeoutMs'],
    ['rtt timeout above interval', { rttIntervalMs: 1000, rttTimeoutMs: 2000 }, 'rttTimeoutMs'],
    ['reconnect max below initial', { reconnect: { initialDelayMs: 1000, maxDelayMs: 500 } }, 'reconnect.maxDelayMs'],
    ['reconnect factor 0', { reconnect: { factor: 0 } }, 'reconnect.factor'],
    ['controller redial cap above a minute', { reconnect: { controllerMaxDelayMs: 60_001 } }, 'reconnect.controllerMaxDelayMs'],
    ['controller redial cap not an integer', { reconnect: { controllerMaxDelayMs: 1.5 } }, 'reconnect.controllerMaxDelayMs'],
    ['frame bound below a certificate', { authFrameBytesMax: 100 }, 'authFrameBytesMax'],
    ['connections below members', { connectionsMax: 2, bootstrap: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'] }, 'connectionsMax'],
    ['unknown field', { healthcheck: {} }, 'healthcheck'],
    ['both key sources', { keyFile: '/tmp/x' }, 'keyFile|privateKey'],
    ['no key source', { privateKey: undefined }, 'keyFile|privateKey'],
    ['both certificate sources', { certificateFile: '/tmp/c' }, 'certificateFile|certificate'],
    ['no controller CA', { controllerCas: [] }, 'controllerCaFiles|controllerCas'],
  ];
  for (const [what, over, field] of cases) {
    const cfg = { ...base, ...over } as MembershipConfig;
    for (const k of Object.keys(over)) if ((over as Record<string, unknown>)[k] === undefined) delete (cfg as unknown as Record<string, unknown>)[k];
    t.ok(fieldsOf(cfg).includes(field), `${what}: names ${field} (got ${JSON.stringify(fieldsOf(cfg))})`);
  }
  t.same(fieldsOf(base), [], 'the base configuration is valid');
});

t.test('every problem is reported at once', async (t) => {
  const fields = fieldsOf({ ...base, memberName: '', region: '', authTimeoutMs: -1 });
  t.same(fields.sort(), ['authTimeoutMs', 'memberName', 'region']);
});
