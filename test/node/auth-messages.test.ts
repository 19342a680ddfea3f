// Auth protocol messages: round trips, and refusal of everything else.

import t from 'tap';
import { AuthError, CertificateError } from '../../node/errors.ts';
import { decodeAuthRequest, decodeAuthResponse, encodeAuthRequest, encodeAuthResponse } from '../../node/auth/auth-messages.ts';
import { makeFederation, makeMember } from '../helpers/cert-fixtures.ts';

const fed = await makeFederation('msg-fed');
const m = await makeMember(fed, 'c1', 'controller');
const te = new TextEncoder();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuthError || e instanceof CertificateError) return e.code;
    throw e;
  }
  return 'accepted';
}

t.test('round trips', async (t) => {
  t.same(decodeAuthRequest(encodeAuthRequest({ certificate: m.certificate })), { certificate: m.certificate });
  t.same(decodeAuthRequest(encodeAuthRequest({})), {});
  t.same(decodeAuthResponse(encodeAuthResponse({ ok: true, certificate: m.certificate })), { ok: true, certificate: m.certificate });
  t.same(decodeAuthResponse(encodeAuthResponse({ ok: false, code: 'CERT_EXPIRED', message: 'x'.repeat(1000) })),
    { ok: false, code: 'CERT_EXPIRED', message: 'x'.repeat(256) }, 'refusal messages are truncated to 256 chars');
});

t.test('garbage is refused with a stable code', async (t) => {
  const req: Array<[string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'AUTH_PROTOCOL'],
    ['invalid UTF-8', Uint8Array.from([0xff, 0xfe, 0x7b]), 'AUTH_PROTOCOL'],
    ['a JSON number', te.encode('42'), 'AUTH_PROTOCOL'],
    ['no version', te.encode('{}'), 'AUTH_PROTOCOL'],
    ['version 2', te.encode('{"v":2}'), 'AUTH_PROTOCOL'],
    ['an extra field', te.encode('{"v":1,"admin":true}'), 'AUTH_PROTOCOL'],
    ['a malformed certificate', te.encode('{"v":1,"certificate":[]}'), 'CERT_MALFORMED'],
  ];
  for (const [what, bytes, code] of req) t.equal(codeOf(() => decodeAuthRequest(bytes)), code, `request: ${what}`);
  const res: Array<[string, string, string]> = [
    ['no ok', '{"v":1}', 'AUTH_PROTOCOL'],
    ['ok as a string', '{"v":1,"ok":"yes"}', 'AUTH_PROTOCOL'],
    ['an unknown refusal code', '{"v":1,"ok":false,"code":"ROOT","message":""}', 'AUTH_PROTOCOL'],
    ['a long refusal message', `{"v":1,"ok":false,"code":"CERT_EXPIRED","message":"${'x'.repeat(300)}"}`, 'AUTH_PROTOCOL'],
    ['an extra field on success', '{"v":1,"ok":true,"x":1}', 'AUTH_PROTOCOL'],
    ['a malformed certificate', '{"v":1,"ok":true,"certificate":{"kind":"novaedge/member-certificate"}}', 'CERT_MALFORMED'],
  ];
  for (const [what, text, code] of res) t.equal(codeOf(() => decodeAuthResponse(te.encode(text))), code, `response: ${what}`);
});
