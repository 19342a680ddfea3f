// Start-up checks of the node's own credentials, and the key-file refusal at start-up.

import t from 'tap';
import { chmod, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError, KeyFileError } from '../../node/errors.ts';
import { FAST_PROFILE, resolveMembershipConfig, type MembershipConfig } from '../../node/config/membership-config.ts';
import { loadCredentials } from '../../node/identity/credentials.ts';
import { loadOrCreateIdentity } from '../../node/identity/identity.ts';
import { writeCaPublicFile } from '../../node/identity/ca.ts';
import { writeCertificateFile } from '../../node/identity/certificate.ts';
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
