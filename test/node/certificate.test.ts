// Member certificates: issue, encode/decode, verify, and every rejection reason.

import t from 'tap';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { CertificateError } from '../../node/errors.ts';
import { decodeCaPublic, encodeCaPublic, readCaPublicFile, writeCaPublicFile } from '../../node/identity/ca.ts';
import {
  certificateFromJson, certificateToJson, decodeCertificate, encodeCertificate, issueCertificate,
  readCertificateFile, writeCertificateFile, type MemberCertificate,
} from '../../node/identity/certificate.ts';
import { TrustStore } from '../../node/identity/trust-store.ts';
import { CERT_CLOCK_SKEW_MS_DEFAULT, verifyCertificate, type VerifyContext } from '../../node/identity/verify-certificate.ts';
import { HOUR_MS, makeCa, makeFederation, makeMember } from '../helpers/cert-fixtures.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CertificateError) return e.code;
    throw e;
  }
  return 'accepted';
}

const fed = await makeFederation('prod-global');
const ctxFor = (peerId: string, over: Partial<VerifyContext> = {}): VerifyContext =>
  ({ trust: fed.store, federationId: fed.id, peerId, nowMs: Date.now(), ...over });

t.test('issue, encode, decode and verify a controller and an agent certificate', async (t) => {
  for (const role of ['controller', 'agent'] as const) {
    const m = await makeMember(fed, `${role}-1`, role);
    const text = encodeCertificate(m.certificate);
    const back = decodeCertificate(text);
    t.same(back, m.certificate, `${role}: round trip`);
    const v = await verifyCertificate(back, ctxFor(m.peerId.toString()));
    t.match(v, { member: `${role}-1`, role, peerId: m.peerId.toString(), issuer: role === 'controller' ? fed.controllerCa.public.keyId : fed.agentCa.public.keyId });
    t.equal(v.notAfterMs, Date.parse(m.certificate.notAfter));
  }
});

t.test('certificate files round-trip', async (t) => {
  const dir = await tempDir(t);
  const m = await makeMember(fed, 'eu-west-controller', 'controller');
  await writeCertificateFile(join(dir, 'member.cert'), m.certificate);
  t.same(await readCertificateFile(join(dir, 'member.cert')), m.certificate);
  await writeCaPublicFile(join(dir, 'ca.json'), fed.controllerCa.public);
  const ca = await readCaPublicFile(join(dir, 'ca.json'));
  t.equal(ca.keyId, fed.controllerCa.public.keyId);
  t.ok(ca.publicKey.equals(fed.controllerCa.public.publicKey));
  t.match(await readFile(join(dir, 'member.cert'), 'utf8'), /"kind": "novaedge\/member-certificate"/);
});

t.test('every rejection reason', async (t) => {
  const stranger = await makeCa('stranger-ca');
  const me = await makeMember(fed, 'c1', 'controller');
  const other = await makeMember(fed, 'c2', 'controller');
  const cases: Array<[string, () => Promise<{ cert: MemberCertificate; peerId: string }>, string]> = [
    ['valid', async () => ({ cert: me.certificate, peerId: me.peerId.toString() }), 'accepted'],
    ['expired', async () => { const m = await makeMember(fed, 'c3', 'controller', { fromMs: -2 * HOUR_MS, untilMs: -HOUR_MS }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_EXPIRED'],
    ['not yet valid', async () => { const m = await makeMember(fed, 'c3', 'controller', { fromMs: HOUR_MS, untilMs: 2 * HOUR_MS }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_NOT_YET_VALID'],
    ['another federation', async () => { const m = await makeMember(fed, 'c3', 'controller', { federationId: 'staging' }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_WRONG_FEDERATION'],
    ['an unknown CA', async () => { const m = await makeMember(fed, 'c3', 'controller', { ca: stranger }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_UNTRUSTED_ISSUER'],
    ['the agent CA making a controller', async () => { const m = await makeMember(fed, 'c3', 'controller', { ca: fed.agentCa }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_UNTRUSTED_ISSUER'],
    ['the controller CA making an agent', async () => { const m = await makeMember(fed, 'a3', 'agent', { ca: fed.controllerCa }); return { cert: m.certificate, peerId: m.peerId.toString() }; }, 'CERT_UNTRUSTED_ISSUER'],
    ['another peer ID', async () => ({ cert: me.certificate, peerId: other.peerId.toString() }), 'CERT_WRONG_PEER'],
    ['a tampered member name', async () => ({ cert: { ...me.certificate, member: 'c9' }, peerId: me.peerId.toString() }), 'CERT_BAD_SIGNATURE'],
    ['a tampered role', async () => ({ cert: { ...me.certificate, role: 'agent', issuer: fed.agentCa.public.keyId }, peerId: me.peerId.toString() }), 'CERT_BAD_SIGNATURE'],
    ['an extended validity', async () => ({ cert: { ...me.certificate, notAfter: new Date(Date.now() + 99 * HOUR_MS).toISOString() }, peerId: me.peerId.toString() }), 'CERT_BAD_SIGNATURE'],
    ['a signature by the stranger CA under our issuer id', async () => {
      const forged = await issueCertificate(stranger, { federationId: fed.id, member: 'c1', role: 'controller', peerId: me.peerId, notBeforeMs: Date.now() - HOUR_MS, notAfterMs: Date.now() + HOUR_MS });
      return { cert: { ...forged, issuer: fed.controllerCa.public.keyId }, peerId: me.peerId.toString() };
    }, 'CERT_BAD_SIGNATURE'],
    ['a stolen certificate with a forged federation', async () => ({ cert: { ...me.certificate, federationId: 'staging' }, peerId: me.peerId.toString() }), 'CERT_BAD_SIGNATURE'],
  ];
  for (const [what, make, code] of cases) {
    const { cert, peerId } = await make();
    t.equal(await codeOf(verifyCertificate(cert, ctxFor(peerId))), code, what);
  }
});

t.test('validity edges with the clock-skew tolerance', async (t) => {
  const m = await makeMember(fed, 'c1', 'controller');
  const nb = Date.parse(m.certificate.notBefore);
  const na = Date.parse(m.certificate.notAfter);
  const skew = CERT_CLOCK_SKEW_MS_DEFAULT;
  const at = (nowMs: number, clockSkewMs?: number): Promise<string> =>
    codeOf(verifyCertificate(m.certificate, ctxFor(m.peerId.toString(), clockSkewMs === undefined ? { nowMs } : { nowMs, clockSkewMs })));
  t.equal(await at(nb - skew - 1), 'CERT_NOT_YET_VALID');
  t.equal(await at(nb - skew), 'accepted', 'notBefore minus the tolerance is valid');
  t.equal(await at(na + skew - 1), 'accepted', 'just before notAfter plus the tolerance');
  t.equal(await at(na + skew), 'CERT_EXPIRED', 'notAfter is exclusive');
  t.equal(await at(na, 0), 'CERT_EXPIRED', 'with no tolerance, expired at notAfter');
  t.equal(await at(nb, 0), 'accepted');
});

t.test('malformed certificates are refused by the decoder', async (t) => {
  const m = await makeMember(fed, 'c1', 'controller');
  const json = certificateToJson(m.certificate);
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['a list', [json]],
    ['no kind', { ...json, kind: undefined }],
    ['another kind', { ...json, kind: 'x509' }],
    ['version 2', { ...json, version: 2 }],
    ['an extra field', { ...json, admin: true }],
    ['a bad federation id', { ...json, federationId: 'Prod Global' }],
    ['a bad member name', { ...json, member: '' }],
    ['a bad role', { ...json, role: 'root' }],
    ['a bad peer ID', { ...json, peerId: 'not a peer id' }],
    ['a non-canonical time', { ...json, notBefore: '2025-01-01' }],
    ['an offset time', { ...json, notAfter: '2099-01-01T00:00:00.000+01:00' }],
    ['an impossible date', { ...json, notAfter: '2099-02-30T00:00:00.000Z' }],
    ['an empty window', { ...json, notAfter: json.notBefore }],
    ['a short issuer', { ...json, issuer: 'abc' }],
    ['a short signature', { ...json, signature: 'AAAA' }],
    ['a numeric signature', { ...json, signature: 42 }],
  ];
  for (const [what, value] of cases) t.equal(await codeOf(() => certificateFromJson(value)), 'CERT_MALFORMED', what);
  t.equal(await codeOf(() => decodeCertificate('{')), 'CERT_MALFORMED', 'truncated JSON');
  t.equal(await codeOf(() => decodeCertificate(`${encodeCertificate(m.certificate)}${' '.repeat(4096)}`)), 'CERT_MALFORMED', 'oversized');
});

t.test('issuing refuses nonsense', async (t) => {
  const m = await makeMember(fed, 'c1', 'controller');
  const base = { federationId: fed.id, member: 'c1', role: 'controller' as const, peerId: m.peerId, notBeforeMs: 1000, notAfterMs: 2000 };
  t.equal(await codeOf(issueCertificate(fed.controllerCa, { ...base, notAfterMs: 1000 })), 'CERT_MALFORMED', 'empty window');
  t.equal(await codeOf(issueCertificate(fed.controllerCa, { ...base, member: 'C1' })), 'CERT_MALFORMED', 'bad name');
  t.equal(await codeOf(issueCertificate(fed.controllerCa, { ...base, peerId: 'x y' })), 'CERT_MALFORMED', 'bad peer ID');
});

t.test('CA files: tampering is detected', async (t) => {
  const good = JSON.parse(encodeCaPublic(fed.controllerCa.public)) as Record<string, unknown>;
  const other = JSON.parse(encodeCaPublic((await makeCa('x')).public)) as Record<string, unknown>;
  t.equal(decodeCaPublic(JSON.stringify(good)).keyId, fed.controllerCa.public.keyId);
  const cases: Array<[string, unknown]> = [
    ['a key id of another key', { ...good, keyId: other.keyId }],
    ['a short key', { ...good, publicKey: 'AAAA' }],
    ['another kind', { ...good, kind: 'novaedge/ca-key' }],
    ['an extra field', { ...good, trustedFor: 'everything' }],
    ['a bad name', { ...good, name: 'CA!' }],
  ];
  for (const [what, doc] of cases) t.equal(await codeOf(() => decodeCaPublic(JSON.stringify(doc))), 'CERT_MALFORMED', what);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'big.json'), ' '.repeat(5000));
  t.equal(await codeOf(readCaPublicFile(join(dir, 'big.json'))), 'CERT_MALFORMED', 'oversized CA file');
});

t.test('trust lists are per role and bounded', async (t) => {
  const store = new TrustStore({ controller: [fed.controllerCa.public], agent: [fed.agentCa.public, fed.controllerCa.public] });
  t.ok(store.issuerFor(fed.controllerCa.public.keyId, 'agent'), 'a CA may be trusted for both roles');
  t.notOk(store.issuerFor(fed.agentCa.public.keyId, 'controller'));
  t.ok(store.knows(fed.agentCa.public.keyId));
  t.same(store.sizes(), { controller: 1, agent: 2, client: 0 });
  const many = await Promise.all(Array.from({ length: 17 }, (_, i) => makeCa(`ca-${i}`)));
  t.throws(() => new TrustStore({ controller: many.map((c) => c.public), agent: [] }), /more than 16/);
});
