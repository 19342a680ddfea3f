// One membership node in its own process, for bench/membership.ts. Reads its configuration (key,
// certificate, CAs, addresses) from the NOVAEDGE_BENCH_NODE environment variable as JSON, reports
// 'loaded' once its modules are loaded, starts the node on the parent's 'go' (so that Node start-up
// and module loading are not counted as membership time), and reports over IPC: 'started' once
// listening, every membership event and every controller connection gained or lost, and 'full' each
// time it reaches its part of full membership:
//  - a controller: it sees every other member (controllers and agents) Healthy;
//  - an agent: it holds an authenticated connection to a controller. Agents publish health but do
//    not subscribe to it (healthGossip in node/config/membership-config.ts), so their peer tables
//    stay empty: that every controller sees the agent Healthy is the controllers' part.
// Wall-clock timestamps (Date.now()) so the parent can compare processes.

import { decodeCaPublic } from '../node/identity/ca.ts';
import { certificateFromJson } from '../node/identity/certificate.ts';
import { privateKeyFromProtobuf } from '../node/identity/keys.ts';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { startMembershipNode } from '../node/membership/membership-node.ts';
import type { Ed25519PrivateKey } from '@libp2p/interface';

/** What the parent passes in. */
export interface ChildSpec {
  federationId: string;
  name: string;
  role: 'controller' | 'agent';
  privateKey: string;
  certificate: unknown;
  controllerCa: string;
  agentCa: string;
  listen: string;
  bootstrap: string[];
  /** Controllers: the members it must see Healthy (itself excluded). Agents: unused. */
  expect: string[];
}

/** What the child reports over IPC. */
export interface ChildMsg {
  type: 'loaded' | 'started' | 'event' | 'full' | 'link';
  name: string;
  atMs: number;
  /** 'event': the membership event. */
  event?: { type: string; member: string; to?: string };
  /** 'link': a controller connection authenticated (up) or lost (down). */
  link?: { member: string; up: boolean };
  /** 'full': members in this node's peer table. */
  known?: number;
}

const send = (m: ChildMsg): void => { process.send?.(m); };
const spec = JSON.parse(process.env.NOVAEDGE_BENCH_NODE ?? '') as ChildSpec;
const go = new Promise<void>((resolve) => {
  process.on('message', (m: { type: string }) => { if (m.type === 'go') resolve(); });
});
send({ type: 'loaded', name: spec.name, atMs: Date.now() });
await go;
const node = await startMembershipNode({
  federationId: spec.federationId,
  memberName: spec.name,
  role: spec.role,
  region: 'bench',
  listen: [spec.listen],
  bootstrap: spec.bootstrap,
  privateKey: privateKeyFromProtobuf(Buffer.from(spec.privateKey, 'base64')) as Ed25519PrivateKey,
  certificate: certificateFromJson(spec.certificate),
  controllerCas: [decodeCaPublic(spec.controllerCa)],
  agentCas: [decodeCaPublic(spec.agentCa)],
}, { profile: FAST_PROFILE });
send({ type: 'started', name: spec.name, atMs: Date.now() });

const isFull = (): boolean => spec.role === 'controller'
  ? spec.expect.every((m) => m === spec.name || node.peer(m)?.state === 'Healthy')
  : node.authenticatedPeers().some((p) => p.role === 'controller');
let full = false;
const check = (): void => {
  const now = isFull();
  if (now && !full) send({ type: 'full', name: spec.name, atMs: Date.now(), known: node.peers().length });
  full = now;
};
node.on('event', (e) => {
  send({ type: 'event', name: spec.name, event: e, atMs: Date.now() });
  check();
});
for (const [kind, up] of [['authenticated', true], ['deauthenticated', false]] as const) {
  node.auth.on(kind, (p) => {
    if (p.role !== 'controller') return;
    send({ type: 'link', name: spec.name, link: { member: p.member, up }, atMs: Date.now() });
    check();
  });
}
check();
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') void node.stop().then(() => process.exit(0));
});
process.on('disconnect', () => { void node.stop().then(() => process.exit(0)); });
