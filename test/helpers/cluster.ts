// Starting real membership nodes on loopback for integration tests and benchmarks.

import type { MembershipConfig } from '../../node/config/membership-config.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { startMembershipNode, type MembershipNode } from '../../node/membership/membership-node.ts';
import type { MemberRole } from '../../membership/member-name.ts';
import { makeMember, type TestFederation, type TestMember } from './cert-fixtures.ts';
import { freePorts } from './free-ports.ts';
import type { Teardownable } from './temp-dir.ts';

/** A planned member: identity, certificate and a fixed loopback port. */
export interface PlannedMember extends TestMember {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Listen multiaddr (no /p2p/). */
  listen: string;
  /** Dialable multiaddr with /p2p/<peerId>. */
  addr: string;
}

/** Plan members: fresh keys and certificates, reserved ports. */
export async function planMembers(fed: TestFederation, spec: Array<{ name: string; role: MemberRole }>): Promise<PlannedMember[]> {
  const ports = await freePorts(spec.length);
  return Promise.all(spec.map(async ({ name, role }, i) => {
    const m = await makeMember(fed, name, role);
    const port = ports[i]!;
    const listen = `/ip4/127.0.0.1/tcp/${port}`;
    return { ...m, port, listen, addr: `${listen}/p2p/${m.peerId.toString()}` };
  }));
}

/** The configuration of a planned member (in-memory key and certificate). */
export function memberConfig(fed: TestFederation, m: TestMember & { listen: string }, bootstrap: string[], over: Partial<MembershipConfig> = {}): MembershipConfig {
  return {
    federationId: fed.id,
    memberName: m.name,
    role: m.role,
    region: 'test-region',
    zone: 'test-zone-a',
    listen: [m.listen],
    bootstrap,
    privateKey: m.privateKey,
    certificate: m.certificate,
    controllerCas: [...fed.trust.controller],
    agentCas: [...fed.trust.agent],
    ...over,
  };
}

/** Start a planned member with the fast profile; stopped at teardown. */
export async function startMember(t: Teardownable, fed: TestFederation, m: PlannedMember, bootstrap: string[], over: Partial<MembershipConfig> = {}): Promise<MembershipNode> {
  const node = await startMembershipNode(memberConfig(fed, m, bootstrap, over), { profile: FAST_PROFILE });
  t.teardown(() => node.stop());
  return node;
}

/** Whether every node sees every other member of `names` in state `state`. */
export function allSee(nodes: Array<{ memberName: string; peer: MembershipNode['peer'] }>, names: string[], state = 'Healthy'): boolean {
  return nodes.every((n) => names.every((m) => m === n.memberName || n.peer(m)?.state === state));
}

/** Compact view for failure messages: member -> {other -> state}. */
export function stateMatrix(nodes: MembershipNode[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const n of nodes) out[n.memberName] = Object.fromEntries(n.peers().map((p) => [p.member, p.state]));
  return out;
}
