// A whole federation on this machine, for `npm start` and for trying things out: three controllers
// and two agents on loopback, each with its admin socket and Prometheus exporter, with a federation
// CA per role, identity keys and certificates generated on first run and reused after, and every
// node's data under one directory.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { FAST_AGENT } from '../agent/agent-config.ts';
import { AgentNode } from '../agent/agent-node.ts';
import { nodeComponents, sleep, type NodeComponents } from '../components.ts';
import { FAST_PROFILE, MEMBERSHIP_DEFAULTS } from '../config/membership-config.ts';
import { ControllerNode } from '../controller/controller-node.ts';
import { pinOf } from '../auth/member-pins.ts';
import { createCa, loadCa, writeCaPublicFile, type FederationCa } from '../identity/ca.ts';
import { certificateTimeMs, issueCertificate, readCertificateFile, writeCertificateFile } from '../identity/certificate.ts';
import { loadOrCreateKeyFile } from '../identity/key-file.ts';
import type { MemberRole } from '../../membership/member-name.ts';
import { startNodeServices, type NodeServices } from '../services/node-services.ts';

/** Options of a local federation. */
export interface LocalFederationOptions {
  /** Directory holding keys, certificates and every node's data. */
  dir: string;
  /** TCP ports on 127.0.0.1: one per controller, then one per agent. */
  ports: number[];
  /** Metrics ports on 127.0.0.1, in the same order (0: the system picks). */
  metricsPorts: number[];
  /** Controller names, which are also their regions (default us-west, eu-west, ap-east). */
  controllers?: string[];
  /** Agents: name and the controller it prefers (default edge-1 → us-west, edge-2 → eu-west). */
  agents?: Array<{ name: string; primary: string }>;
  /** Federation ID (default local). */
  federationId?: string;
  /** What the nodes take from their environment (default the real clocks, timers, network and disks). */
  components?: Partial<NodeComponents>;
}

/** A node of the local federation with its services. */
export interface LocalNode<N> {
  node: N;
  services: NodeServices;
}

/** The running local federation. */
export interface LocalFederation {
  controllers: Array<LocalNode<ControllerNode>>;
  agents: Array<LocalNode<AgentNode>>;
  /** Stop every node and its services: agents first, then controllers. */
  stop(): Promise<void>;
}

/**
 * The membership profile of the local controllers: the fast one (health checks every 200 ms), with
 * the daemon's clock-probe cycle, so that a controller started from YAML (the fourth one `npm start`
 * prepares) probes as they do: a peer's membership epoch counts only as long as the shorter of two
 * probe cycles (node/controller/write-fence.ts).
 */
const LOCAL_PROFILE = Object.freeze({ ...FAST_PROFILE, rttIntervalMs: MEMBERSHIP_DEFAULTS.rttIntervalMs, rttTimeoutMs: MEMBERSHIP_DEFAULTS.rttTimeoutMs });

/** Certificates issued here last this long; a certificate with less than a day left is re-issued. */
const CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

async function loadOrCreateCa(dir: string, name: string): Promise<FederationCa> {
  const keyPath = join(dir, `${name}.key`);
  const ca = existsSync(keyPath) ? await loadCa(keyPath, name) : await createCa(keyPath, name);
  await writeCaPublicFile(join(dir, `${name}.pub`), ca.public);
  return ca;
}

/** A member's identity files and addresses. */
export interface Planned {
  name: string;
  peerId: string;
  keyFile: string;
  certificateFile: string;
  listen: string;
  addr: string;
}

// The member's key (created once) and a certificate for it (re-issued when missing, foreign or near expiry).
async function plan(pki: string, ca: FederationCa, federationId: string, name: string, role: MemberRole, port: number, now: number): Promise<Planned> {
  const keyFile = join(pki, `${name}.key`);
  const certificateFile = join(pki, `${name}.cert`);
  const { key } = await loadOrCreateKeyFile(keyFile, 'novaedge/identity-key');
  const peerId = peerIdFromPrivateKey(key).toString();
  const held = existsSync(certificateFile) ? await readCertificateFile(certificateFile).catch(() => undefined) : undefined;
  if (held === undefined || held.peerId !== peerId || held.federationId !== federationId || held.role !== role || held.member !== name ||
    (certificateTimeMs(held.notAfter) ?? 0) - now < RENEW_BEFORE_MS) {
    await writeCertificateFile(certificateFile, await issueCertificate(ca, {
      federationId, member: name, role, peerId, notBeforeMs: now - 60_000, notAfterMs: now + CERT_VALIDITY_MS,
    }));
  }
  return { name, peerId, keyFile, certificateFile, listen: `/ip4/127.0.0.1/tcp/${port}`, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` };
}

/**
 * The identity of one more member of the local federation in `dir` (its key, created once, and a
 * certificate from the federation's CA for its role, re-issued when missing, foreign or near expiry),
 * as startLocalFederation makes its nodes': `npm start` prepares a fourth controller with it.
 */
export async function localMemberIdentity(dir: string, federationId: string, name: string, role: MemberRole, port: number, nowMs: number): Promise<Planned> {
  const pki = join(dir, 'pki');
  const ca = await loadOrCreateCa(pki, role === 'controller' ? 'controllers-ca' : 'agents-ca');
  return plan(pki, ca, federationId, name, role, port, nowMs);
}

/**
 * Start the local federation; resolves once every controller is connected to, and sees Healthy,
 * every other, accepts writes (ControllerNode.ready), and every agent follows a controller.
 */
export async function startLocalFederation(o: LocalFederationOptions): Promise<LocalFederation> {
  const names = o.controllers ?? ['us-west', 'eu-west', 'ap-east'];
  const agentSpecs = o.agents ?? [{ name: 'edge-1', primary: names[0]! }, { name: 'edge-2', primary: names[1 % names.length]! }];
  const count = names.length + agentSpecs.length;
  if (o.ports.length !== count || o.metricsPorts.length !== count) {
    throw new Error(`local federation: ${names.length} controllers and ${agentSpecs.length} agents need ${count} ports and ${count} metrics ports`);
  }
  const federationId = o.federationId ?? 'local';
  const components = nodeComponents(o.components);
  const { timers } = components;
  const pki = join(o.dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const controllersCa = await loadOrCreateCa(pki, 'controllers-ca');
  const agentsCa = await loadOrCreateCa(pki, 'agents-ca');
  const cs = await Promise.all(names.map((n, i) => plan(pki, controllersCa, federationId, n, 'controller', o.ports[i]!, components.wallClock())));
  const as = await Promise.all(agentSpecs.map((a, i) => plan(pki, agentsCa, federationId, a.name, 'agent', o.ports[names.length + i]!, components.wallClock())));
  const trust = { controllerCaFiles: [join(pki, 'controllers-ca.pub')], agentCaFiles: [join(pki, 'agents-ca.pub')] };
  const services = (name: string, i: number) => ({
    adminSocket: join(o.dir, name, 'admin.sock'), metrics: { host: '127.0.0.1', port: o.metricsPorts[i]! },
    // One process holds every node: only the first registry carries the process metrics.
    processMetrics: i === 0,
  });

  const fed: LocalFederation = {
    controllers: [],
    agents: [],
    async stop() {
      for (const n of [...fed.agents, ...fed.controllers]) {
        await n.services.stop();
        await n.node.stop();
      }
    },
  };
  try {
    for (const [i, m] of cs.entries()) {
      mkdirSync(join(o.dir, m.name), { recursive: true, mode: 0o700 });
      const node = await ControllerNode.start({
        membership: {
          federationId, memberName: m.name, role: 'controller', region: m.name, listen: [m.listen],
          bootstrap: cs.filter((x) => x !== m).map((x) => x.addr), keyFile: m.keyFile, certificateFile: m.certificateFile, ...trust,
          // Each other controller's name with its peer ID, as a daemon's spec.members gives them: the
          // controllers keep the live membership record (`novactl federation members add` works).
          controllers: cs.filter((x) => x !== m).map((x) => pinOf(x.name, x.addr)),
        },
        replication: { dataDir: join(o.dir, m.name), controllers: names },
        // Health checks every 200 ms, so the status shows the others Healthy within a second.
      }, { membershipProfile: LOCAL_PROFILE, components });
      fed.controllers.push({ node, services: await startNodeServices(node, services(m.name, i)) });
    }
    for (const [i, m] of as.entries()) {
      const spec = agentSpecs[i]!;
      const order = [spec.primary, ...names.filter((n) => n !== spec.primary)].map((n) => cs.find((c) => c.name === n)!.addr);
      const node = await AgentNode.start({
        membership: {
          federationId, memberName: m.name, role: 'agent', region: spec.primary, listen: [m.listen],
          keyFile: m.keyFile, certificateFile: m.certificateFile, ...trust,
        },
        dataDir: join(o.dir, m.name),
        controllers: { primary: { endpoint: order[0]! }, secondary: order.slice(1).map((endpoint) => ({ endpoint, priority: 100 })) },
      }, { membershipProfile: LOCAL_PROFILE, agentProfile: FAST_AGENT, components });
      fed.agents.push({ node, services: await startNodeServices(node, services(m.name, names.length + i)) });
    }
    const deadline = timers.nowMs() + 20_000;
    // The controllers started here (the membership record may list more: one added live, not running now).
    const up = (n: ControllerNode): boolean => n.replicator.status().every((s) => s.connected || !names.includes(s.member)) &&
      names.every((m) => m === n.membership.memberName || n.membership.peer(m)?.state === 'Healthy');
    while (!fed.controllers.every((c) => up(c.node)) || !fed.agents.every((a) => a.node.state === 'Connected')) {
      if (timers.nowMs() > deadline) throw new Error('local federation: nodes did not connect within 20 s');
      await sleep(timers, 50);
    }
    // Formed means writes are accepted too (a quorum write right after would otherwise be FENCED).
    await Promise.all(fed.controllers.map((c) => c.node.ready({ timeoutMs: Math.max(0, deadline - timers.nowMs()) })));
  } catch (err) {
    await fed.stop().catch(() => undefined);
    throw err;
  }
  return fed;
}
