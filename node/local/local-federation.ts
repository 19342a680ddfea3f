// A whole federation on this machine, for `npm start` and for trying things out: three controllers
// on loopback, with a federation CA, identity keys and certificates generated on first run and
// reused after, and every node's data under one directory.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { FAST_PROFILE } from '../config/membership-config.ts';
import { ControllerNode } from '../controller/controller-node.ts';
import { createCa, loadCa, writeCaPublicFile } from '../identity/ca.ts';
import { certificateTimeMs, issueCertificate, readCertificateFile, writeCertificateFile } from '../identity/certificate.ts';
import { loadOrCreateKeyFile } from '../identity/key-file.ts';

/** Options of a local federation. */
export interface LocalFederationOptions {
  /** Directory holding keys, certificates and every node's data. */
  dir: string;
  /** TCP ports on 127.0.0.1, one per controller. */
  ports: number[];
  /** Controller names, which are also their regions (default us-west, eu-west, ap-east). */
  names?: string[];
  /** Federation ID (default local). */
  federationId?: string;
}

/** Certificates issued here last this long; a certificate with less than a day left is re-issued. */
const CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

async function loadOrCreateCa(dir: string, name: string): Promise<Awaited<ReturnType<typeof loadCa>>> {
  const keyPath = join(dir, `${name}.key`);
  const ca = existsSync(keyPath) ? await loadCa(keyPath, name) : await createCa(keyPath, name);
  await writeCaPublicFile(join(dir, `${name}.pub`), ca.public);
  return ca;
}

/** Start the local federation; resolves once every controller is connected to, and sees Healthy, every other. */
export async function startLocalFederation(o: LocalFederationOptions): Promise<ControllerNode[]> {
  const names = o.names ?? ['us-west', 'eu-west', 'ap-east'];
  if (o.ports.length !== names.length) throw new Error(`local federation: ${names.length} controllers need ${names.length} ports`);
  const federationId = o.federationId ?? 'local';
  const pki = join(o.dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const controllersCa = await loadOrCreateCa(pki, 'controllers-ca');
  await loadOrCreateCa(pki, 'agents-ca');
  const members = [];
  for (const [i, name] of names.entries()) {
    const keyFile = join(pki, `${name}.key`);
    const certificateFile = join(pki, `${name}.cert`);
    const { key } = await loadOrCreateKeyFile(keyFile, 'novaedge/identity-key');
    const peerId = peerIdFromPrivateKey(key).toString();
    const now = Date.now();
    const held = existsSync(certificateFile) ? await readCertificateFile(certificateFile).catch(() => undefined) : undefined;
    if (held === undefined || held.peerId !== peerId || held.federationId !== federationId || (certificateTimeMs(held.notAfter) ?? 0) - now < RENEW_BEFORE_MS) {
      await writeCertificateFile(certificateFile, await issueCertificate(controllersCa, {
        federationId, member: name, role: 'controller', peerId, notBeforeMs: now - 60_000, notAfterMs: now + CERT_VALIDITY_MS,
      }));
    }
    const port = o.ports[i];
    if (port === undefined) throw new Error(`local federation: no port for ${name}`);
    members.push({ name, keyFile, certificateFile, listen: `/ip4/127.0.0.1/tcp/${port}`, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` });
  }
  const nodes: ControllerNode[] = [];
  try {
    for (const m of members) {
      nodes.push(await ControllerNode.start({
        membership: {
          federationId, memberName: m.name, role: 'controller', region: m.name, listen: [m.listen],
          bootstrap: members.filter((x) => x !== m).map((x) => x.addr), keyFile: m.keyFile, certificateFile: m.certificateFile,
          controllerCaFiles: [join(pki, 'controllers-ca.pub')], agentCaFiles: [join(pki, 'agents-ca.pub')],
        },
        replication: { dataDir: join(o.dir, m.name), controllers: names },
        // Health checks every 200 ms, so the status shows the others Healthy within a second.
      }, { membershipProfile: FAST_PROFILE }));
    }
    const deadline = Date.now() + 20_000;
    const up = (n: ControllerNode): boolean => n.replicator.status().every((s) => s.connected) &&
      names.every((m) => m === n.membership.memberName || n.membership.peer(m)?.state === 'Healthy');
    while (!nodes.every(up)) {
      if (Date.now() > deadline) throw new Error('local federation: controllers did not connect within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    for (const n of nodes) await n.stop().catch(() => undefined);
    throw err;
  }
  return nodes;
}
