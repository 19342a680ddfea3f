// Identities pinned by configuration (node/auth/member-pins.ts): which verified certificates may
// stand for which members, the validation of a pin list, and the pins a controller derives.
import t from 'tap';
import { stringify } from 'yaml';
import { controllerPinsFrom, MemberPins, pinOf, pinProblems, type PinnedClaim } from '../../node/auth/member-pins.ts';
import { parseConfigText, type ControllerFileConfig } from '../../node/config/file-config.ts';
import { resolveMembershipConfig, type MembershipConfig } from '../../node/config/membership-config.ts';
import type { ConfigError } from '../../node/errors.ts';
import { makeFederation, makeMember } from '../helpers/cert-fixtures.ts';

const fed = await makeFederation('pins-fed');
const [eu, ap, other] = await Promise.all(['eu-west', 'ap-east', 'other'].map((n) => makeMember(fed, n, 'controller')));
const EU = eu!.peerId.toString();
const AP = ap!.peerId.toString();
const OTHER = other!.peerId.toString();

const verdict = (pins: MemberPins, c: PinnedClaim): string => pins.check(c)?.code ?? 'accepted';

t.test('pairs (a controller config file): name and peer ID must agree, both ways', async (t) => {
  const pins = new MemberPins('us-west', [{ name: 'eu-west', peerId: EU }, { name: 'ap-east', peerId: AP }]);
  const cases: Array<[string, PinnedClaim, string]> = [
    ['the real eu-west', { member: 'eu-west', role: 'controller', peerId: EU }, 'accepted'],
    ['eu-west from another key', { member: 'eu-west', role: 'controller', peerId: OTHER }, 'AUTH_MEMBER_PINNED'],
    ['eu-west\'s key under ap-east\'s name', { member: 'ap-east', role: 'controller', peerId: EU }, 'AUTH_MEMBER_PINNED'],
    ['eu-west\'s key under an unknown name', { member: 'sa-east', role: 'controller', peerId: EU }, 'AUTH_MEMBER_PINNED'],
    ['an agent certificate named eu-west', { member: 'eu-west', role: 'agent', peerId: OTHER }, 'AUTH_MEMBER_PINNED'],
    ['this node\'s own name', { member: 'us-west', role: 'controller', peerId: OTHER }, 'AUTH_MEMBER_PINNED'],
    ['a controller in no configuration', { member: 'sa-east', role: 'controller', peerId: OTHER }, 'AUTH_MEMBER_UNKNOWN'],
    ['an agent', { member: 'edge-1', role: 'agent', peerId: OTHER }, 'accepted'],
  ];
  for (const [what, claim, code] of cases) t.equal(verdict(pins, claim), code, what);
});

t.test('names and peer IDs unpaired (a controller started without pins): both must be configured', async (t) => {
  const pins = new MemberPins('us-west', controllerPinsFrom('us-west', ['us-west', 'eu-west', 'ap-east'], [`/ip4/127.0.0.1/tcp/1/p2p/${EU}`, `/ip4/127.0.0.1/tcp/2/p2p/${AP}`]));
  t.equal(verdict(pins, { member: 'eu-west', role: 'controller', peerId: EU }), 'accepted');
  t.equal(verdict(pins, { member: 'eu-west', role: 'controller', peerId: OTHER }), 'AUTH_MEMBER_PINNED', 'a configured name from an unlisted key');
  t.equal(verdict(pins, { member: 'sa-east', role: 'controller', peerId: EU }), 'AUTH_MEMBER_UNKNOWN', 'an unconfigured name');
  t.equal(verdict(pins, { member: 'eu-west', role: 'agent', peerId: OTHER }), 'AUTH_MEMBER_PINNED', 'a controller name on an agent certificate');
});

t.test('peer IDs only (an agent: its controllers by identity)', async (t) => {
  const pins = new MemberPins('edge-1', [{ peerId: EU }, { peerId: AP }]);
  t.equal(verdict(pins, { member: 'eu-west', role: 'controller', peerId: EU }), 'accepted');
  t.equal(verdict(pins, { member: 'eu-west', role: 'controller', peerId: OTHER }), 'AUTH_MEMBER_UNKNOWN', 'a controller the agent was not given');
  t.equal(verdict(pins, { member: 'edge-2', role: 'agent', peerId: OTHER }), 'accepted', 'agents are not the agent\'s business here');
});

t.test('an empty list accepts no other controller; no list accepts any', async (t) => {
  t.equal(verdict(new MemberPins('solo', []), { member: 'eu-west', role: 'controller', peerId: EU }), 'AUTH_MEMBER_UNKNOWN');
  t.equal(verdict(new MemberPins('solo', undefined), { member: 'eu-west', role: 'controller', peerId: EU }), 'accepted');
  t.equal(verdict(new MemberPins('solo', undefined), { member: 'solo', role: 'controller', peerId: EU }), 'AUTH_MEMBER_PINNED', 'still not this node\'s name');
});

t.test('derivation: bootstrap peer IDs only when every address has one', async (t) => {
  t.same(controllerPinsFrom('a', ['a', 'b', 'c'], []), [{ name: 'b' }, { name: 'c' }]);
  t.same(controllerPinsFrom('a', ['a', 'b'], [`/ip4/127.0.0.1/tcp/1/p2p/${EU}`, '/ip4/127.0.0.1/tcp/2']), [{ name: 'b' }], 'a hole: names only');
  t.same(controllerPinsFrom('a', ['a', 'b'], [`/ip4/127.0.0.1/tcp/1/p2p/${EU}`]), [{ name: 'b' }, { peerId: EU }]);
  t.same(pinOf('eu-west', `/dns/x.example.com/tcp/9090/p2p/${EU}`), { name: 'eu-west', peerId: EU });
});

t.test('validation of membership.controllers', async (t) => {
  t.same(pinProblems(undefined), []);
  t.same(pinProblems([{ name: 'eu-west', peerId: EU }, { peerId: AP }, { name: 'x' }]), []);
  t.same(pinProblems('eu-west').map((p) => p.field), ['']);
  t.same(pinProblems([{}, { name: 'Bad_Name' }, { peerId: 'nope' }, { name: 'a', extra: 1 }, { name: 'a' }, { peerId: EU }, { peerId: EU }]).map((p) => p.field),
    ['[0]', '[1].name', '[2].peerId', '[3].extra', '[4].name', '[6].peerId']);
  const base: MembershipConfig = {
    federationId: 'pins-fed', memberName: 'us-west', role: 'controller', region: 'r', privateKey: eu!.privateKey, certificate: eu!.certificate,
    controllerCas: [fed.controllerCa.public],
  };
  t.same(resolveMembershipConfig({ ...base, controllers: [{ name: 'eu-west', peerId: EU }] }).controllers, [{ name: 'eu-west', peerId: EU }]);
  t.equal(resolveMembershipConfig(base).controllers, undefined, 'unset by default');
  t.equal(resolveMembershipConfig(base).unauthenticatedConnectionsMax, 64, 'unauthenticatedConnectionsMax default');
  t.throws(() => resolveMembershipConfig({ ...base, controllers: [{ name: 'eu-west', peerId: 'x' }] }), { code: 'CONFIG_INVALID' });
  try {
    resolveMembershipConfig({ ...base, controllers: [{ peerId: 'x' }], unauthenticatedConnectionsMax: 0 });
  } catch (e) {
    t.same((e as ConfigError).issues.map((i) => i.field).sort(), ['controllers[0].peerId', 'unauthenticatedConnectionsMax']);
  }
});

t.test('a controller config file pins every member by name and peer ID', async (t) => {
  const doc = {
    apiVersion: 'novaedge.io/v1alpha1', kind: 'NovaEdgeFederation', metadata: { name: 'f' },
    node: { identityKeyFile: 'k', certificateFile: 'c', controllerCaFiles: ['ca'], dataDir: 'data' },
    spec: {
      federationID: 'pins-fed',
      localMember: { name: 'us-west', region: 'us-west', endpoint: '10.0.0.1:9090' },
      members: [
        { name: 'eu-west', region: 'eu-west', endpoint: '10.0.0.2:9090', peerId: EU },
        { name: 'ap-east', region: 'ap-east', endpoint: `/ip4/10.0.0.3/tcp/9090/p2p/${AP}` },
      ],
    },
  };
  const c = parseConfigText(stringify(doc), { baseDir: '/etc/novaedge', files: { file: () => undefined } }) as ControllerFileConfig;
  t.same(c.controller.membership.controllers, [{ name: 'eu-west', peerId: EU }, { name: 'ap-east', peerId: AP }]);
});
