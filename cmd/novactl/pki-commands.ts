// `novactl keygen` and `novactl ca init|issue`: identity keys, the federation CA and member
// certificates, as files a node starts with.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError, EXIT, type CliContext } from './cli-context.ts';
import { CERTIFICATE_ROLES, type CertificateRole } from '../../node/identity/roles.ts';

// The identity modules load libp2p's crypto: imported when a PKI command runs, so that commands
// talking to a node start fast.
const identity = async () => {
  const [peerId, ca, certificate, keyFile, keys] = await Promise.all([
    import('@libp2p/peer-id'), import('../../node/identity/ca.ts'), import('../../node/identity/certificate.ts'),
    import('../../node/identity/key-file.ts'), import('../../node/identity/keys.ts'),
  ]);
  return { ...peerId, ...ca, ...certificate, ...keyFile, ...keys };
};

/** Default certificate validity, days. */
export const CERT_DAYS_DEFAULT = 365;
/** Longest certificate validity accepted, days. */
export const CERT_DAYS_MAX = 3650;
/** Certificates start this long before issue, so small clock differences do not reject them. */
const NOT_BEFORE_SLACK_MS = 60_000;
const DAY_MS = 86_400_000;
// The CA key file holds no name; the name is only a label of the public file, and certificates
// name their issuer by key ID. Any valid label works for issuing.
const ISSUING_CA_LABEL = 'federation-ca';

function days(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > CERT_DAYS_MAX) throw new InvalidArgumentError(`must be a whole number of days from 1 to ${CERT_DAYS_MAX}`);
  return n;
}

/** The default public-file path of a CA key file: `ca.key` → `ca.pub`, otherwise `FILE.pub`. */
export function caPublicPath(keyPath: string): string {
  return keyPath.endsWith('.key') ? `${keyPath.slice(0, -4)}.pub` : `${keyPath}.pub`;
}

/** keygen, ca init, ca issue. */
export function addPkiCommands(program: Command, ctx: CliContext): void {
  program.command('keygen')
    .description('create a node identity key file (mode 0600) and print its peer ID')
    .requiredOption('--out <file>', 'key file to create (never overwritten)')
    .action(async (opts: { out: string }) => {
      const { generateEd25519Key, writeNewKeyFile, peerIdFromPrivateKey } = await identity();
      const key = await generateEd25519Key();
      await writeNewKeyFile(opts.out, 'novaedge/identity-key', key);
      ctx.io.stdout(`${peerIdFromPrivateKey(key).toString()}\n`);
    });

  const ca = program.command('ca').description('the federation CA: create it, issue member certificates');
  ca.command('init')
    .description('create a CA key file (mode 0600) and its public file (to give to every node)')
    .requiredOption('--out <file>', 'CA key file to create (never overwritten)')
    .option('--name <name>', 'CA label (DNS-1123)', 'federation-ca')
    .option('--public <file>', 'public file to write (default: FILE with .key replaced by .pub)')
    .action(async (opts: { out: string; name: string; public?: string }) => {
      const pub = opts.public ?? caPublicPath(opts.out);
      if (pub === opts.out) throw new CliError('USAGE', '--public must differ from --out', EXIT.USAGE);
      const { createCa, writeCaPublicFile } = await identity();
      const created = await createCa(opts.out, opts.name);
      await writeCaPublicFile(pub, created.public);
      ctx.io.stdout([
        `CA key:    ${opts.out} (secret: keep it offline)`,
        `CA public: ${pub} (list it in controllerCaFiles or agentCaFiles)`,
        `key ID:    ${created.public.keyId}`,
      ].join('\n') + '\n');
    });
  ca.command('issue')
    .description('issue a certificate for a peer ID (or the peer ID of an identity key file): a member\'s (controller, agent) or a remote client\'s (operator, viewer)')
    .requiredOption('--ca <keyfile>', 'CA key file')
    .requiredOption('--member <name>', 'member name (for a client: the operator\'s or program\'s name, shown in audit logs)')
    .addOption(new Option('--role <role>', 'controller, agent, or a remote client: operator (reads and writes) or viewer (reads)').choices([...CERTIFICATE_ROLES]).makeOptionMandatory())
    .requiredOption('--federation <id>', 'federation ID')
    .option('--peer-id <id>', 'peer ID of the member (from keygen)')
    .option('--key <file>', 'identity key file of the member (instead of --peer-id)')
    .option('--days <n>', `validity in days (default ${CERT_DAYS_DEFAULT})`, days)
    .requiredOption('--out <file>', 'certificate file to write')
    .action(async (opts: { ca: string; member: string; role: CertificateRole; federation: string; peerId?: string; key?: string; days?: number; out: string }) => {
      if ((opts.peerId === undefined) === (opts.key === undefined)) throw new CliError('USAGE', 'give exactly one of --peer-id and --key', EXIT.USAGE);
      const { peerIdFromPrivateKey, peerIdFromString, readKeyFile, loadCa, issueCertificate, writeCertificateFile } = await identity();
      let peerId: string;
      if (opts.peerId !== undefined) {
        try {
          peerId = peerIdFromString(opts.peerId).toString();
        } catch {
          throw new CliError('USAGE', `--peer-id "${opts.peerId}" is not a libp2p peer ID (novactl keygen prints one)`, EXIT.USAGE);
        }
      } else {
        peerId = peerIdFromPrivateKey(await readKeyFile(opts.key!, 'novaedge/identity-key')).toString();
      }
      const issuer = await loadCa(opts.ca, ISSUING_CA_LABEL);
      const now = Date.now();
      const cert = await issueCertificate(issuer, {
        federationId: opts.federation, member: opts.member, role: opts.role, peerId,
        notBeforeMs: now - NOT_BEFORE_SLACK_MS, notAfterMs: now + (opts.days ?? CERT_DAYS_DEFAULT) * DAY_MS,
      });
      await writeCertificateFile(opts.out, cert);
      ctx.io.stdout(`certificate for ${cert.member} (${cert.role}) in federation ${cert.federationId}, peer ${cert.peerId}, valid until ${cert.notAfter}: ${opts.out}\n`);
    });
}
