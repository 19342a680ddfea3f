// The reconnector on a fake clock and a fake libp2p: controller redials never wait past their cap,
// a dial whose TCP connect goes unanswered is abandoned at the connect deadline and the next one
// sent at once, an upgrade in progress keeps the whole dial deadline, and dialNow cuts a wait short.
import t from 'tap';
import type { PeerId } from '@libp2p/interface';
import { redialBackoffFor } from '../../membership/redial-backoff.ts';
import { Reconnector, type ReconnectorHost } from '../../node/host/reconnector.ts';
import { identityFromKey } from '../../node/identity/identity.ts';
import { generateEd25519Key } from '../../node/identity/keys.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';



interface DialCall {
  atMs: number;
  signal: AbortSignal;
  onProgress: (evt: { type: string }) => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

async function fakeHost(timers: ManualTimers): Promise<{ libp2p: ReconnectorHost; target: PeerId; dials: DialCall[]; connected: Set<string> }> {
  const self = identityFromKey(await generateEd25519Key()).peerId;
  const target = identityFromKey(await generateEd25519Key()).peerId;
  const dials: DialCall[] = [];
  const connected = new Set<string>();
  const libp2p = {
    peerId: self,
    getMultiaddrs: () => [],
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    getConnections: (p?: PeerId) => (p !== undefined && connected.has(p.toString()) ? [{}] : []),
    dial: (_addr: unknown, o: { signal: AbortSignal; onProgress: (evt: { type: string }) => void }) => new Promise((resolve, reject) => {
      const call: DialCall = {
        atMs: timers.now, signal: o.signal, onProgress: o.onProgress,
        resolve: () => { connected.add(target.toString()); resolve({ remotePeer: target }); },
        reject,
      };
      o.signal.addEventListener('abort', () => reject(o.signal.reason as Error));
      dials.push(call);
    }),
  } as unknown as ReconnectorHost;
  return { libp2p, target, dials, connected };
}

// Jitter at its midpoint: no jitter.
const HALF = { float: () => 0.5, bytes: (n: number) => new Uint8Array(n) };

const SETTINGS = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, controllerMaxDelayMs: 1_000 };

t.test('refused controller dials: every wait within the cap, however long it lasts', async (t) => {
  const seed = testSeed();
  t.comment(`SEED=${seed}`);
  const timers = new ManualTimers();
  const { libp2p, target, dials } = await fakeHost(timers);
  const r = new Reconnector(libp2p, {
    ...redialBackoffFor('controller', SETTINGS), targets: [`/ip4/10.0.0.2/tcp/9000/p2p/${target.toString()}`],
    dialTimeoutMs: 5_000, random: { float: mulberry32(seed), bytes: (n) => new Uint8Array(n) }, timers,
  });
  r.start();
  for (let s = 0; s < 120; s++) {
    await timers.advance(500);
    for (const d of dials.splice(0)) d.reject(new Error('connect ECONNREFUSED'));
  }
  const st = r.status()[0]!;
  t.ok(st.failures >= 60, `${st.failures} dials in a minute of refusals`);
  t.ok(st.longestDelayMs <= 1_000, `longest wait ${st.longestDelayMs} ms <= 1000 ms`);
  r.stop();
});

t.test('an unanswered TCP connect is abandoned at the connect deadline and the next dial sent at once', async (t) => {
  const timers = new ManualTimers();
  const { libp2p, target, dials } = await fakeHost(timers);
  const backoff = redialBackoffFor('controller', SETTINGS);
  const r = new Reconnector(libp2p, {
    ...backoff, targets: [`/ip4/10.0.0.2/tcp/9000/p2p/${target.toString()}`], dialTimeoutMs: 5_000, random: HALF, timers,
  });
  r.start();
  await timers.advance(10_000); // nothing answers: dials are abandoned at 1 s, never waiting out 5 s
  const starts = dials.map((d) => d.atMs);
  t.ok(starts.length >= 9, `${starts.length} dials in 10 s of silence`);
  const gaps = starts.slice(1).map((x, i) => x - starts[i]!);
  t.ok(gaps.every((g) => g <= backoff.connectTimeoutMs!), `a fresh dial at least every ${backoff.connectTimeoutMs} ms (gaps ${gaps.join(', ')})`);
  t.match(r.status()[0]!.lastError, /TCP connection not open within 1000 ms/);

  // A dial whose TCP connection opened (the upgrade began) keeps the whole dial deadline.
  const last = dials[dials.length - 1]!;
  last.onProgress({ type: 'upgrader:encrypt-outbound-connection' });
  await timers.advance(3_000);
  t.equal(last.signal.aborted, false, 'an upgrade in progress is not cut at the connect deadline');
  last.resolve();
  await timers.advance(10);
  t.equal(r.status()[0]!.connected, true);
  t.equal(r.status()[0]!.failures, 0);
  r.stop();
});

t.test('agents keep the long backoff and no connect deadline', async (t) => {
  const timers = new ManualTimers();
  const { libp2p, target, dials } = await fakeHost(timers);
  const r = new Reconnector(libp2p, {
    ...redialBackoffFor('agent', SETTINGS), targets: [`/ip4/10.0.0.2/tcp/9000/p2p/${target.toString()}`], dialTimeoutMs: 5_000, random: HALF, timers,
  });
  r.start();
  await timers.advance(4_000);
  t.equal(dials.length, 1, 'one dial, still waiting for its TCP connection after 4 s');
  t.equal(dials[0]!.signal.aborted, false);
  await timers.advance(1_000);
  t.match(r.status()[0]!.lastError, /not connected within 5000 ms/);
  for (let s = 0; s < 60; s++) {
    await timers.advance(1_000);
    for (const d of dials.slice(1)) if (!d.signal.aborted) d.reject(new Error('connect ECONNREFUSED'));
  }
  t.ok(r.status()[0]!.longestDelayMs > 8_000, `waits grow past the controller cap (longest ${r.status()[0]!.longestDelayMs} ms)`);
  r.stop();
});

t.test('dialNow: at once during a wait; nothing while connected or dialing', async (t) => {
  const timers = new ManualTimers();
  const { libp2p, target, dials, connected } = await fakeHost(timers);
  const r = new Reconnector(libp2p, {
    ...redialBackoffFor('agent', SETTINGS), targets: [`/ip4/10.0.0.2/tcp/9000/p2p/${target.toString()}`], dialTimeoutMs: 5_000, random: HALF, timers,
  });
  r.start();
  await timers.advance(1);
  t.equal(r.dialNow(target.toString()), false, 'a dial is in flight');
  dials[0]!.reject(new Error('connect ECONNREFUSED'));
  await timers.advance(1);
  for (let i = 0; i < 5; i++) {
    await timers.advance(30_000);
    for (const d of dials) if (!d.signal.aborted) d.reject(new Error('connect ECONNREFUSED'));
  }
  await timers.advance(1);
  const before = dials.length;
  t.equal(r.dialNow('12D3KooWnotatargetnotatargetnotatargetnotatarget'), false, 'not a target');
  t.equal(r.dialNow(target.toString()), true, 'brought forward');
  t.equal(dials.length, before + 1, 'dialed at once');
  dials[dials.length - 1]!.resolve();
  await timers.advance(1);
  t.ok(connected.has(target.toString()));
  t.equal(r.dialNow(target.toString()), false, 'connected: nothing to do');
  t.equal(r.status()[0]!.dialsNow, 1);
  r.stop();
});
