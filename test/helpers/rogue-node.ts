// Hostile or misconfigured peers for security tests: real libp2p hosts that speak the real auth
// protocol with a bad certificate (or none), or no auth at all, and that publish heartbeats on the
// federation's health topic regardless of whether anyone accepted them.

import type { Heartbeat } from '../../membership/heartbeat.ts';
import { AuthService } from '../../node/auth/auth-service.ts';
import { REAL_RANDOM } from '../../node/components.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { createHost, type HostLibp2p } from '../../node/host/create-host.ts';
import { systemWallClock } from '../../node/util/clock.ts';
import type { MemberCertificate } from '../../node/identity/certificate.ts';
import { TrustStore } from '../../node/identity/trust-store.ts';
import { encodeHeartbeatMessage } from '../../node/membership/heartbeat-codec.ts';
import { healthTopic } from '../../node/protocols.ts';
import type { TestFederation, TestMember } from './cert-fixtures.ts';
import type { Teardownable } from './temp-dir.ts';

/** A rogue host. */
export interface Rogue {
  /** Its libp2p node (started, listening on 127.0.0.1). */
  libp2p: HostLibp2p;
  /** Its auth service, when it speaks the auth protocol. */
  auth: AuthService | undefined;
  /** Its dialable address. */
  addr: string;
  /** Start publishing a heartbeat every `everyMs` on the health topic; returns the stop function. */
  spam(everyMs: number): () => void;
  /** Heartbeats it published. */
  published(): number;
}

/** Options of a rogue. */
export interface RogueOptions {
  /** Identity and the certificate it presents (possibly invalid). */
  member: TestMember;
  /** Present this certificate instead of member.certificate; `null` presents none. */
  certificate?: MemberCertificate | null;
  /** Speak the auth protocol (default true); false makes a plain host that never authenticates. */
  speaksAuth?: boolean;
  /** Its auth deadline (default 5000). */
  authTimeoutMs?: number;
}

/** Start a rogue host; stopped at teardown. */
export async function startRogue(t: Teardownable, fed: TestFederation, o: RogueOptions): Promise<Rogue> {
  const cert = o.certificate === null ? undefined : (o.certificate ?? o.member.certificate);
  const auth = o.speaksAuth === false ? undefined : new AuthService({
    federationId: fed.id,
    certificate: cert,
    trust: new TrustStore(fed.trust), // it trusts the real CAs, so refusals come from the honest side
    authTimeoutMs: o.authTimeoutMs ?? 5_000,
    authDenyMs: 0,
    frameBytesMax: 8192,
    certificateClockSkewMs: 60_000,
    wallClock: systemWallClock,
    timers: REAL_TIMERS,
    // Like a real node, it identifies a peer it dialed once both sides authenticated.
    onConnectionAuthenticated: (c) => host.afterAuthenticated(c),
  });
  const topic = healthTopic(fed.id);
  const host = await createHost({
    privateKey: o.member.privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000, factor: 2 },
    connectionsMax: 64,
    inboundConnectionsPerHostPerSecondMax: 100,
    dialTimeoutMs: 5_000,
    // A rogue gossips with everyone: it treats every peer as authenticated.
    gossip: { heartbeatMs: 100, allowedTopics: [topic], rpcBytesMax: 1 << 20, isAuthenticated: () => true },
    isDenied: () => false,
    timers: REAL_TIMERS,
    random: REAL_RANDOM,
  });
  if (auth !== undefined) await auth.start(host.libp2p);
  await host.start();
  host.libp2p.services.pubsub.subscribe(topic);
  t.teardown(async () => {
    await auth?.stop();
    await host.stop();
  });
  let count = 0;
  let hlc = Date.now();
  const heartbeat = (): Heartbeat => ({
    member: o.member.name, peerId: o.member.peerId.toString(), role: o.member.role, region: 'rogue', zone: '',
    hlc: { wallMs: ++hlc, logical: 0, member: o.member.name }, merkleRoot: '', reachable: [], agentCount: 0,
  });
  return {
    libp2p: host.libp2p,
    auth,
    addr: host.libp2p.getMultiaddrs()[0]!.toString(),
    published: () => count,
    spam(everyMs) {
      const timer = setInterval(() => {
        const data = encodeHeartbeatMessage(cert ?? o.member.certificate, heartbeat());
        host.libp2p.services.pubsub.publish(topic, data).then(() => { count += 1; }, () => undefined);
      }, everyMs);
      return () => clearInterval(timer);
    },
  };
}
