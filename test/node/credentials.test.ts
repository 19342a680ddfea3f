// Start-up checks of the node's own credentials, and the key-file refusal at start-up; credentials
// built in memory from seeded keys (the simulation's federation) and given to the node.

import t from 'tap';
import { chmod, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError, KeyFileError } from '../../node/errors.ts';
import { FAST_PROFILE, resolveMembershipConfig, type MembershipConfig } from '../../node/config/membership-config.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createHost, type HostOptions } from '../../node/host/create-host.ts';
import { credentialsFromParts, loadCredentials } from '../../node/identity/credentials.ts';
import { loadOrCreateIdentity } from '../../node/identity/identity.ts';
import { caFromKey, writeCaPublicFile } from '../../node/identity/ca.ts';
import { issueCertificate, writeCertificateFile, type MemberCertificate } from '../../node/identity/certificate.ts';
import { ED25519_SEED_BYTES, ed25519KeyFromSeed } from '../../node/identity/keys.ts';
import { startMembershipNode } from '../../node/membership/membership-node.ts';
import { HOUR_MS, makeCa, makeFederation, makeMember } from '../helpers/cert-fixtures.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const fed = await makeFederation('cred-fed');

async function problemOf(cfg: MembershipConfig): Promise<string> {
  try {
    await loadCredentials(resolveMembershipConfig(cfg), Date.now());
  } catch (e) {
    if (e instanceof ConfigError) return `${e.issues[0]!.field}: ${e.issues[0]!.problem}`;
    throw e;
  }
  return 'accepted';
}

t.test('a node refuses to start with credentials its peers would refuse', async (t) => {
  const me = await makeMember(fed, 'c1', 'controller');
  const other = await makeMember(fed, 'c2', 'controller');
  const base: MembershipConfig = {
    federationId: fed.id, memberName: 'c1', role: 'controller', region: 'r', privateKey: me.privateKey,
    certificate: me.certificate, controllerCas: [fed.controllerCa.public], agentCas: [fed.agentCa.public],
  };
  t.equal(await problemOf(base), 'accepted');
  t.match(await problemOf({ ...base, memberName: 'c9' }), /^memberName: is "c9" but the certificate is for "c1"/);
  t.match(await problemOf({ ...base, role: 'agent' }), /^role: is "agent" but the certificate is for a controller/);
  t.match(await problemOf({ ...base, privateKey: other.privateKey }), /^certificate: .*CERT_WRONG_PEER/);
  t.match(await problemOf({ ...base, federationId: 'other' }), /^certificate: .*CERT_WRONG_FEDERATION/);
  t.match(await problemOf({ ...base, controllerCas: [(await makeCa('z')).public] }), /^certificate: .*CERT_UNTRUSTED_ISSUER/);
  const old = await makeMember(fed, 'c1', 'controller', { privateKey: me.privateKey, fromMs: -3 * HOUR_MS, untilMs: -2 * HOUR_MS });
  t.match(await problemOf({ ...base, certificate: old.certificate }), /^certificate: .*CERT_EXPIRED/);
  t.match(await problemOf({ ...base, certificate: { ...me.certificate, signature: 'x' } }), /^certificate: .*CERT_MALFORMED/);
});

t.test('file-based credentials: key created 0600, certificate and CA files read', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'identity.key');
  const id = await loadOrCreateIdentity(keyFile);
  const me = await makeMember(fed, 'c1', 'controller', { privateKey: id.privateKey });
  await writeCertificateFile(join(dir, 'c1.cert'), me.certificate);
  await writeCaPublicFile(join(dir, 'controllers.ca'), fed.controllerCa.public);
  const [port] = await freePorts(1);
  const node = await startMembershipNode({
    federationId: fed.id, memberName: 'c1', role: 'controller', region: 'r', keyFile,
    certificateFile: join(dir, 'c1.cert'), controllerCaFiles: [join(dir, 'controllers.ca')], listen: [`/ip4/127.0.0.1/tcp/${port}`],
  }, { profile: FAST_PROFILE });
  t.teardown(() => node.stop());
  t.equal(node.peerId.toString(), id.peerId.toString(), 'runs as the key file identity');
  t.match(node.multiaddrs()[0], `/tcp/${port}/p2p/${id.peerId.toString()}`);
  t.ok((await readFile(keyFile, 'utf8')).includes('novaedge/identity-key'));
});

t.test('a world-readable key file stops start-up before anything listens', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'identity.key');
  const id = await loadOrCreateIdentity(keyFile);
  await chmod(keyFile, 0o644);
  const me = await makeMember(fed, 'c1', 'controller', { privateKey: id.privateKey });
  const [port] = await freePorts(1);
  const err = await startMembershipNode({
    federationId: fed.id, memberName: 'c1', role: 'controller', region: 'r', keyFile, certificate: me.certificate,
    controllerCas: [fed.controllerCa.public], listen: [`/ip4/127.0.0.1/tcp/${port}`],
  }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof KeyFileError, 'refused with a KeyFileError');
  t.equal((err as KeyFileError).code, 'KEY_FILE_INSECURE');
  t.match((err as KeyFileError).message, /mode 0644 .* chmod 600/);
  // Nothing listens: the port is still free.
  const s = createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', () => resolve()); });
  await new Promise((r) => s.close(r));
  t.pass('port still free');
});

t.test('an invalid configuration stops start-up with every problem named', async (t) => {
  const err = await startMembershipNode({
    federationId: fed.id, memberName: 'c1', role: 'controller', region: 'r', keyFile: '/nonexistent/k',
    certificateFile: '/nonexistent/c', controllerCaFiles: ['/nonexistent/ca'], healthCheck: { intervalMs: 100, timeoutMs: 100 },
  }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof ConfigError);
  t.match((err as ConfigError).message, /healthCheck\.timeoutMs: must be less than intervalMs \(100\)/);
});

t.test('seeded keys: the same seed makes the same key, peer ID and certificate; credentials built in memory', async (t) => {
  const seedOf = (n: number): Uint8Array => new Uint8Array(ED25519_SEED_BYTES).fill(n);
  const caKey = await ed25519KeyFromSeed(seedOf(1));
  t.same((await ed25519KeyFromSeed(seedOf(1))).raw, caKey.raw, 'same seed, same key');
  t.not(peerIdFromPrivateKey(await ed25519KeyFromSeed(seedOf(2))).toString(), peerIdFromPrivateKey(caKey).toString(), 'another seed, another key');
  await t.rejects(ed25519KeyFromSeed(new Uint8Array(31)), RangeError, 'a seed is 32 bytes');
  const ca = caFromKey(caKey, 'controllers-ca');
  const memberKey = await ed25519KeyFromSeed(seedOf(3));
  const issue = async (): Promise<MemberCertificate> => issueCertificate(ca, {
    federationId: 'seed-fed', member: 'c1', role: 'controller', peerId: peerIdFromPrivateKey(memberKey),
    notBeforeMs: 1_700_000_000_000, notAfterMs: 1_700_000_000_000 + 24 * HOUR_MS,
  });
  const cert = await issue();
  t.same(await issue(), cert, 'the same certificate every time');
  const creds = await credentialsFromParts({
    privateKey: memberKey, certificate: cert, trust: { controller: [ca.public], agent: [] }, federationId: 'seed-fed', nowMs: 1_700_000_100_000,
  });
  t.same(creds.self, { member: 'c1', role: 'controller', peerId: peerIdFromPrivateKey(memberKey).toString(), notAfterMs: 1_700_000_000_000 + 24 * HOUR_MS, issuer: ca.public.keyId });
  await t.rejects(credentialsFromParts({
    privateKey: memberKey, certificate: cert, trust: { controller: [ca.public], agent: [] }, federationId: 'seed-fed', nowMs: 1_700_000_000_000 + 48 * HOUR_MS,
  }), { code: 'CERT_EXPIRED' }, 'verified at the time given');
});

t.test('credentials given to the node: no file is read, and they are checked against the configuration and its clock', async (t) => {
  const me = await makeMember(fed, 'c1', 'controller');
  const credentials = await credentialsFromParts({ privateKey: me.privateKey, certificate: me.certificate, trust: fed.trust, federationId: fed.id, nowMs: Date.now() });
  const [port] = await freePorts(1);
  // The configuration names files that do not exist: the credentials given stand in for them.
  const cfg: MembershipConfig = {
    federationId: fed.id, memberName: 'c1', role: 'controller', region: 'r', keyFile: '/nonexistent/k',
    certificateFile: '/nonexistent/c', controllerCaFiles: ['/nonexistent/ca'], listen: [`/ip4/127.0.0.1/tcp/${port}`],
  };
  const hostOptions: HostOptions[] = [];
  const node = await startMembershipNode(cfg, {
    profile: FAST_PROFILE, credentials,
    components: { createHost: async (o) => { hostOptions.push(o); return createHost(o); } },
  });
  t.teardown(() => node.stop());
  t.equal(node.peerId.toString(), me.peerId.toString(), 'runs as the identity given');
  t.equal(hostOptions.length, 1, 'the host came from the injected factory');
  t.equal(hostOptions[0]!.timers, node.components.timers, 'with the node\'s timers');
  t.equal(hostOptions[0]!.random, node.components.random, 'and randomness');
  const err = await startMembershipNode({ ...cfg, memberName: 'c2' }, { profile: FAST_PROFILE, credentials }).then(() => undefined, (e: unknown) => e);
  t.match(err instanceof ConfigError ? err.issues[0] : err, { field: 'memberName' }, 'another member name is refused');
  // The node's wall clock, not Date, decides whether its certificate is valid.
  const late = await startMembershipNode(cfg, { profile: FAST_PROFILE, credentials, components: { wallClock: () => Date.now() + 3 * HOUR_MS } })
    .then(() => undefined, (e: unknown) => e);
  t.match(late instanceof ConfigError ? late.issues[0]!.problem : late, /CERT_EXPIRED/, 'expired on a clock three hours ahead');
});
