// Link liveness on a fake clock with fake connections: a link that answers its pings (even late) is
// kept; a half-open one (open, every byte lost) is closed one contact window after its last proof,
// with every other connection to that peer, and the peer handed to onDead; unwatched peers are
// never pinged.
import t from 'tap';
import type { Connection, PeerId } from '@libp2p/interface';
import { LinkLiveness, type LinkHost } from '../../node/host/link-liveness.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { REAL_RANDOM } from '../../node/components.ts';
import { identityFromKey } from '../../node/identity/identity.ts';
import { generateEd25519Key } from '../../node/identity/keys.ts';


type Behaviour = 'echo' | 'silent' | { delayMs: number };

interface FakeConn {
  conn: Connection;
  aborted: boolean;
  streams: number;
}

// A ping stream that echoes, loses, or delays (in fake time) each chunk as `behaviour()` says at
// that moment: a connection can go half-open under a stream already open.
function fakeStream(behaviour: () => Behaviour, timers: ManualTimers): unknown {
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const push = (chunk: Uint8Array): void => { queue.push(chunk); wake?.(); };
  return {
    source: (async function* () {
      while (!ended) {
        while (queue.length > 0) yield queue.shift()!;
        await new Promise<void>((r) => { wake = r; });
      }
    })(),
    sink: async (src: AsyncIterable<Uint8Array>) => {
      for await (const chunk of src) {
        const b = behaviour();
        if (b === 'echo') push(chunk);
        else if (b !== 'silent') timers.setTimeout(() => push(chunk), b.delayMs);
      }
    },
    abort: () => { ended = true; wake?.(); },
    close: async () => { ended = true; wake?.(); },
  };
}

function fakeConn(id: string, peer: PeerId, behaviour: () => Behaviour, timers: ManualTimers): FakeConn {
  const f: FakeConn = { conn: undefined as unknown as Connection, aborted: false, streams: 0 };
  f.conn = {
    id, remotePeer: peer, status: 'open',
    abort: () => { f.aborted = true; (f.conn as { status: string }).status = 'closed'; },
    newStream: async () => {
      f.streams += 1;
      return fakeStream(behaviour, timers);
    },
  } as unknown as Connection;
  return f;
}

async function peers(n: number): Promise<PeerId[]> {
  return Promise.all(Array.from({ length: n }, async () => identityFromKey(await generateEd25519Key()).peerId));
}

function host(conns: FakeConn[]): LinkHost {
  return {
    getConnections: (p?: PeerId) => conns.filter((c) => !c.aborted && (p === undefined || c.conn.remotePeer.equals(p))).map((c) => c.conn),
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  } as unknown as LinkHost;
}

t.test('a half-open link is closed one window after its last proof; live and slow links are kept', async (t) => {
  const timers = new ManualTimers();
  const [live, slow, halfOpen, agent] = await peers(4);
  let halfOpenBehaviour: Behaviour = 'echo';
  const conns = [
    fakeConn('live', live!, () => 'echo', timers),
    fakeConn('slow', slow!, () => ({ delayMs: 450 }), timers), // answers after 450 ms: more than the health timeout, less than the window
    fakeConn('half-1', halfOpen!, () => halfOpenBehaviour, timers),
    fakeConn('half-2', halfOpen!, () => 'echo', timers), // a second connection to the same peer
    fakeConn('agent', agent!, () => 'silent', timers),
  ];
  const dead: string[] = [];
  let deadAt = NaN;
  const links = new LinkLiveness(host(conns), {
    watches: (p) => !p.equals(agent!),
    intervalMs: 200,
    windowMs: 700,
    onDead: (p) => { dead.push(p.toString()); deadAt = timers.now; },
    timers,
    random: REAL_RANDOM,
  });
  links.start();
  await timers.advance(2_000);
  t.same(dead, [], 'every link proven for 2 s');
  t.ok(links.counters().proofs > 20, `${links.counters().proofs} pings answered`);
  t.equal(conns[4]!.streams, 0, 'an unwatched peer is never pinged');
  const provenBefore = links.provenAtMs(halfOpen!.toString())!;

  // half-1 goes half-open: open at both ends, every byte lost, its ping stream included.
  halfOpenBehaviour = 'silent';
  const since = timers.now;
  for (let ms = 0; ms < 2_000 && dead.length === 0; ms += 10) await timers.advance(10);
  t.same(dead, [halfOpen!.toString()], 'the half-open link\'s peer is handed to onDead');
  t.ok(conns[2]!.aborted && conns[3]!.aborted, 'every connection to that peer is closed');
  t.notOk(conns[0]!.aborted || conns[1]!.aborted, 'the live and the slow link are kept');
  t.equal(links.counters().linksClosed, 1);
  t.ok(provenBefore <= since, 'its last proof was before the fault');
  // Its last answered ping left at most one interval before the fault: closed one window after it.
  t.ok(deadAt - since >= 700 - 200 && deadAt - since <= 700 + 20, `closed ${deadAt - since} ms after the fault (window 700, pings every 200)`);
  links.stop();
});

t.test('a connection that never answered is closed alone; the peer\'s other connection stays', async (t) => {
  const timers = new ManualTimers();
  const [peer] = await peers(1);
  const conns = [
    fakeConn('good', peer!, () => 'echo', timers),
    fakeConn('mute', peer!, () => 'silent', timers), // e.g. still authenticating, never answers
  ];
  const dead: string[] = [];
  const links = new LinkLiveness(host(conns), { watches: () => true, intervalMs: 200, windowMs: 700, onDead: (p) => dead.push(p.toString()), timers, random: REAL_RANDOM });
  links.start();
  await timers.advance(1_500);
  t.ok(conns[1]!.aborted, 'the mute connection is closed');
  t.notOk(conns[0]!.aborted, 'the answering one is kept');
  t.equal(links.counters().linksClosed, 1);
  links.stop();
});

// Sim seed 100245 of the sweep at 90f2d33: gossip had peered over a connection that closed; the other
// one kept answering pings, and no heartbeat flowed again. A live link whose peer is not heard from for
// two windows is re-made (every connection closed, the peer handed to onDead to redial), then not
// again within the backoff; a peer heard from is left alone.
t.test('a live link whose heartbeats stopped is re-made, at most once per backoff', async (t) => {
  const timers = new ManualTimers();
  const [quiet, chatty] = await peers(2);
  let conns = [fakeConn('q-1', quiet!, () => 'echo', timers), fakeConn('c-1', chatty!, () => 'echo', timers)];
  const dead: string[] = [];
  const heard = new Map<string, number>();
  const links = new LinkLiveness({
    getConnections: (p?: PeerId) => conns.filter((c) => !c.aborted && (p === undefined || c.conn.remotePeer.equals(p))).map((c) => c.conn),
    addEventListener: () => undefined, removeEventListener: () => undefined,
  } as unknown as LinkHost, {
    watches: () => true, intervalMs: 200, windowMs: 700, timers, random: REAL_RANDOM,
    onDead: (p) => dead.push(p.toString()),
    heardAtMs: (p) => heard.get(p.toString()),
  });
  // Both heard from now and then; then `quiet` stops being heard while its link keeps answering.
  heard.set(quiet!.toString(), timers.now);
  const beat = (): void => { heard.set(chatty!.toString(), timers.now); };
  links.start();
  for (let ms = 0; ms < 3_000; ms += 100) { beat(); await timers.advance(100); }
  t.same(dead, [quiet!.toString()], 'the silent peer is re-made; the one heard from is not');
  t.ok(conns[0]!.aborted, 'its connection closed');
  t.notOk(conns[1]!.aborted);
  t.equal(links.counters().gossipRepairs, 1);
  t.equal(links.counters().linksClosed, 0, 'not a dead link');
  // Redialed: a new connection, still silent. Not re-made again within the backoff (6 windows).
  // (First repair at ~1.4 s: two windows of silence; backoff until ~5.6 s.)
  conns = [...conns, fakeConn('q-2', quiet!, () => 'echo', timers)];
  for (let ms = 0; ms < 2_000; ms += 100) { beat(); await timers.advance(100); }
  t.equal(links.counters().gossipRepairs, 1, 'backoff');
  for (let ms = 0; ms < 2_000; ms += 100) { beat(); await timers.advance(100); }
  t.equal(links.counters().gossipRepairs, 2, 'after the backoff, again');
  // Heard again: left alone from then on.
  conns = [...conns, fakeConn('q-3', quiet!, () => 'echo', timers)];
  for (let ms = 0; ms < 6_000; ms += 100) { beat(); heard.set(quiet!.toString(), timers.now); await timers.advance(100); }
  t.equal(links.counters().gossipRepairs, 2);
  links.stop();
});
