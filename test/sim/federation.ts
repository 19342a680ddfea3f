// The federation of a simulated run, made from the seed: CA keys, member keys (so peer IDs) and
// certificates are the same in every run of a seed, and the node configurations are what an operator
// would write, with DNS-style addresses the simulated network resolves (`/dns4/<name>/tcp/9090`).
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { MembershipConfig } from '../../node/config/membership-config.ts';
import type { AgentConfig } from '../../node/agent/agent-config.ts';
import type { ControllerConfig } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { caFromKey, type FederationCa } from '../../node/identity/ca.ts';
import { issueCertificate, type MemberCertificate } from '../../node/identity/certificate.ts';
import type { MemberRole } from '../../membership/member-name.ts';
import type { StrategyName } from '../../storage/logic/rules/conflict-rule.ts';
import type { SimRandom } from './random.ts';
import { seededEd25519Key } from './net/keys.ts';

/** Certificates are valid from a day before the run to a year after. */
const CERT_BEFORE_MS = 86_400_000;
const CERT_AFTER_MS = 365 * 86_400_000;
/** The port every simulated node listens on (addresses differ by name). */
export const SIM_PORT = 9090;

/** One member of the federation. */
export interface SimMember {
  name: string;
  role: MemberRole;
  privateKey: Ed25519PrivateKey;
  peerId: PeerId;
  certificate: MemberCertificate;
  /** Dialable address, with /p2p/. */
  addr: string;
}

/** What a federation is made of. */
export interface SimFederationSpec {
  id: string;
  controllers: readonly string[];
  agents: readonly string[];
  /**
   * Controllers that join during the run (live membership, `members add`): keys and certificates
   * like the others, in no other node's configuration; each configured with the first controllers'
   * addresses as its bootstrap list (ControllerConfig `join`).
   */
  joiners?: readonly string[];
  strategy: StrategyName;
  splitBrain: SplitBrainConfig;
}

/** The federation of a run. */
export interface SimFederation {
  spec: SimFederationSpec;
  controllerCa: FederationCa;
  agentCa: FederationCa;
  members: Map<string, SimMember>;
  controllerConfig(name: string): ControllerConfig;
  agentConfig(name: string): AgentConfig;
}

/** The listen address of a simulated node. */
export function simListenAddr(name: string): string {
  return `/dns4/${name}/tcp/${SIM_PORT}`;
}

/** Make the federation of `spec` from `rand`; certificates valid around `wallMs`. */
export async function makeSimFederation(spec: SimFederationSpec, rand: SimRandom, wallMs: number): Promise<SimFederation> {
  const key = (label: string): Promise<Ed25519PrivateKey> => seededEd25519Key(rand, label);
  const controllerCa = caFromKey(await key('ca:controllers'), 'controllers-ca');
  const agentCa = caFromKey(await key('ca:agents'), 'agents-ca');
  const members = new Map<string, SimMember>();
  const joiners = spec.joiners ?? [];
  // Joiners last: the keys of the others are those of a run without them.
  const roles: Array<[string, MemberRole]> = [
    ...spec.controllers.map((n) => [n, 'controller'] as [string, MemberRole]), ...spec.agents.map((n) => [n, 'agent'] as [string, MemberRole]),
    ...joiners.map((n) => [n, 'controller'] as [string, MemberRole]),
  ];
  for (const [name, role] of roles) {
    const privateKey = await key(`member:${name}`);
    const peerId = peerIdFromPrivateKey(privateKey);
    const certificate = await issueCertificate(role === 'controller' ? controllerCa : agentCa, {
      federationId: spec.id, member: name, role, peerId: peerId.toString(),
      // Certificates hold whole milliseconds; the virtual clock may stand between two.
    notBeforeMs: Math.floor(wallMs) - CERT_BEFORE_MS, notAfterMs: Math.floor(wallMs) + CERT_AFTER_MS,
    });
    members.set(name, { name, role, privateKey, peerId, certificate, addr: `${simListenAddr(name)}/p2p/${peerId.toString()}` });
  }
  const member = (name: string): SimMember => {
    const m = members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  };
  const membership = (m: SimMember, bootstrap: string[]): MembershipConfig => ({
    federationId: spec.id, memberName: m.name, role: m.role, region: `region-${m.name}`, zone: 'zone-a',
    listen: [simListenAddr(m.name)], bootstrap, privateKey: m.privateKey, certificate: m.certificate,
    controllerCas: [controllerCa.public], agentCas: [agentCa.public],
  });
  return {
    spec, controllerCa, agentCa, members,
    controllerConfig: (name) => joiners.includes(name) ? {
      // Its identity and the members' addresses, nothing else: it learns the membership from them.
      membership: membership(member(name), spec.controllers.map((c) => member(c).addr)),
      replication: { dataDir: `/sim/${name}`, controllers: [name], strategy: spec.strategy },
      splitBrain: spec.splitBrain,
      join: true,
    } : ({
      membership: {
        ...membership(member(name), spec.controllers.filter((c) => c !== name).map((c) => member(c).addr)),
        // Each other controller's name with its peer ID, as the daemon's spec.members gives them:
        // the controllers keep the live membership record (node/membership/members-service.ts).
        controllers: spec.controllers.filter((c) => c !== name).map((c) => ({ name: c, peerId: member(c).peerId.toString() })),
      },
      replication: { dataDir: `/sim/${name}`, controllers: [...spec.controllers], strategy: spec.strategy },
      splitBrain: spec.splitBrain,
    }),
    agentConfig: (name) => {
      // Agents spread their primaries over the controllers, in order.
      const i = spec.agents.indexOf(name);
      const order = spec.controllers.map((_, k) => spec.controllers[(i + k) % spec.controllers.length]!);
      const [primary, ...rest] = order;
      return {
        membership: membership(member(name), []),
        dataDir: `/sim/${name}`,
        controllers: { primary: { endpoint: member(primary!).addr }, secondary: rest.map((c) => ({ endpoint: member(c).addr, priority: 100 })) },
        autonomousMode: { enabled: false },
      };
    },
  };
}

/**
 * An attacker's identity: a fresh key from `rand` and a certificate the federation's CA issued for
 * member `claims` (in its role) to that key, as a stolen CA key or a mis-issued certificate would
 * give. The certificate is valid in every way a certificate can be checked alone; only the peer ID
 * differs from the member's configured one. `host` is the attacker's own network name.
 */
export async function makeImpostor(fed: SimFederation, host: string, claims: string, rand: SimRandom, wallMs: number): Promise<SimMember> {
  const real = fed.members.get(claims);
  if (real === undefined) throw new Error(`no member ${claims} to claim`);
  const privateKey = await seededEd25519Key(rand, `impostor:${host}`);
  const peerId = peerIdFromPrivateKey(privateKey);
  const certificate = await issueCertificate(real.role === 'controller' ? fed.controllerCa : fed.agentCa, {
    federationId: fed.spec.id, member: claims, role: real.role, peerId: peerId.toString(),
    // Certificates hold whole milliseconds; the virtual clock may stand between two.
    notBeforeMs: Math.floor(wallMs) - CERT_BEFORE_MS, notAfterMs: Math.floor(wallMs) + CERT_AFTER_MS,
  });
  return { name: claims, role: real.role, privateKey, peerId, certificate, addr: `${simListenAddr(host)}/p2p/${peerId.toString()}` };
}

/**
 * The membership configuration an impostor runs with: the claimed member's name and role, listening
 * on its own host, dialing every controller but the one it claims, trusting the federation's CAs
 * (so refusals come from the honest side), with no pins of its own.
 */
export function impostorConfig(fed: SimFederation, host: string, m: SimMember): MembershipConfig {
  return {
    federationId: fed.spec.id, memberName: m.name, role: m.role, region: `region-${host}`, zone: 'zone-a',
    listen: [simListenAddr(host)],
    bootstrap: fed.spec.controllers.filter((c) => c !== m.name).map((c) => fed.members.get(c)!.addr),
    privateKey: m.privateKey, certificate: m.certificate,
    controllerCas: [fed.controllerCa.public], agentCas: [fed.agentCa.public],
  };
}
