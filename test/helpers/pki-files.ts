// Key material on disk for tests that start nodes from config files: a controller CA and an agent
// CA (public keys written as files), and per member an identity key file and a certificate file.
import { join } from 'node:path';
import { writeCaPublicFile } from '../../node/identity/ca.ts';
import { writeCertificateFile } from '../../node/identity/certificate.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';
import type { MemberRole } from '../../membership/member-name.ts';
import { makeFederation, makeMember, type TestFederation } from './cert-fixtures.ts';

/** Files of one member. */
export interface MemberFiles {
  /** Member name. */
  name: string;
  /** Role. */
  role: MemberRole;
  /** Its peer ID. */
  peerId: string;
  /** Identity key file (mode 0600). */
  keyFile: string;
  /** Certificate file. */
  certificateFile: string;
}

/** A federation's files. */
export interface PkiFiles {
  /** The federation (CAs in memory). */
  fed: TestFederation;
  /** Controller CA public key file. */
  controllerCaFile: string;
  /** Agent CA public key file. */
  agentCaFile: string;
  /** Members by name. */
  members: Map<string, MemberFiles>;
}

/** Write CA files and one key and certificate per member under `dir`. */
export async function writePki(dir: string, federationId: string, spec: Array<{ name: string; role: MemberRole }>): Promise<PkiFiles> {
  const fed = await makeFederation(federationId);
  const controllerCaFile = join(dir, 'controllers-ca.pub');
  const agentCaFile = join(dir, 'agents-ca.pub');
  await writeCaPublicFile(controllerCaFile, fed.controllerCa.public);
  await writeCaPublicFile(agentCaFile, fed.agentCa.public);
  const members = new Map<string, MemberFiles>();
  for (const { name, role } of spec) {
    const m = await makeMember(fed, name, role);
    const keyFile = join(dir, `${name}.key`);
    const certificateFile = join(dir, `${name}.cert`);
    await writeNewKeyFile(keyFile, 'novaedge/identity-key', m.privateKey);
    await writeCertificateFile(certificateFile, m.certificate);
    members.set(name, { name, role, peerId: m.peerId.toString(), keyFile, certificateFile });
  }
  return { fed, controllerCaFile, agentCaFile, members };
}
