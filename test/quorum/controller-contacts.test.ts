// The contact rule the write fence decides with (quorum/controller-contacts.ts): a controller is
// reached while a direct link to it is open and a round trip over a direct link, sent within the
// window, was answered. Unit cases, then the exhaustive pair exploration (contact-explorer.ts), which
// must also catch the three shell mistakes it rules out.
import t from 'tap';
import { ControllerContacts } from '../../quorum/controller-contacts.ts';
import { exploreContacts } from './contact-explorer.ts';

const C = ['c1', 'c2', 'c3'];
const table = (): ControllerContacts => new ControllerContacts({ self: 'c1', controllers: C, windowMs: 900 });

t.test('reached while a direct link is open and in contact within the window; self always; strangers never', async (t) => {
  const cc = table();
  t.same(cc.reachable(0), ['c1']);
  t.ok(cc.linkOpened('c3', 100));
  t.ok(cc.linkOpened('c2', 150));
  t.same(cc.reachable(150), ['c1'], 'an authentication alone is no contact');
  t.ok(cc.proven('c3', 100, 150));
  t.ok(cc.proven('c2', 200, 200));
  t.notOk(cc.linkOpened('zz', 200), 'unknown names are ignored');
  t.notOk(cc.proven('c1', 200, 200), 'self is not a contact');
  t.same(cc.reachable(999), ['c1', 'c2', 'c3'], 'configured order');
  t.same(cc.reachable(1000), ['c1', 'c2'], 'c3 last in contact at 100 is not reached from 100 + 900 on');
  t.same(cc.reachable(1100), ['c1']);
  t.equal(cc.lastContactMs('c2'), 200);
  t.equal(cc.lastContactMs('zz'), undefined);
  t.throws(() => cc.proven('c2', 150, 150), /clock went backwards/);
});

t.test('a reset unreaches at once; proofs without an open link are not contact', async (t) => {
  const cc = table();
  t.notOk(cc.proven('c2', 10, 10), 'no link open: it came some other way');
  t.same(cc.reachable(10), ['c1']);
  cc.linkOpened('c2', 20);
  cc.proven('c2', 20, 20);
  t.same(cc.reachable(20), ['c1', 'c2']);
  t.ok(cc.linkClosed('c2', 30));
  t.same(cc.reachable(30), ['c1'], 'closed: unreached at once, well inside the window');
  t.notOk(cc.proven('c2', 25, 40), 'a proof of the closed link changes nothing');
  t.notOk(cc.linkOpen('c2'));
  cc.linkOpened('c2', 50);
  t.same(cc.reachable(50), ['c1', 'c2'], 'a new link: the last exchange (at 20) still counts for its window');
  t.same(cc.reachable(920), ['c1'], 'and no longer: the authentication at 50 did not renew it');
  cc.proven('c2', 900, 930);
  t.same(cc.reachable(1_799), ['c1', 'c2'], 'a round trip sent at 900 over the new link: a window from its sending');
  t.same(cc.reachable(1_800), ['c1']);
});

t.test('an authentication completing late is no contact: the peer may have paused since it sent its part', async (t) => {
  // The peer sent its last authentication message at 0 and paused; it arrived at 345 (a slow path).
  const cc = table();
  cc.linkOpened('c2', 345);
  t.same(cc.reachable(345), ['c1'], 'not reached on the authentication');
  t.equal(cc.nextExpiryMs(345), undefined, 'nothing to expire: never reached');
  // A ping sent at 346 is never answered (the peer is paused): c2 is never reached.
  t.same(cc.reachable(5_000), ['c1']);
});

t.test('proofs count from when the link proved alive, not from when they were told', async (t) => {
  const cc = table();
  cc.linkOpened('c2', 0);
  t.ok(cc.proven('c2', 500, 1_200), 'a ping answered at 500, told at 1200');
  t.equal(cc.lastContactMs('c2'), 500);
  t.notOk(cc.reaches('c2', 1_400), 'reached until 500 + 900 only');
  cc.proven('c2', 300, 1_300);
  t.equal(cc.lastContactMs('c2'), 500, 'an older proof changes nothing');
  cc.proven('c2', 5_000, 1_350);
  t.equal(cc.lastContactMs('c2'), 1_350, 'a proof from the future counts as now');
});

t.test('nextExpiryMs: when the earliest reached controller runs out', async (t) => {
  const cc = table();
  t.equal(cc.nextExpiryMs(0), undefined);
  cc.linkOpened('c2', 100);
  cc.proven('c2', 100, 100);
  cc.linkOpened('c3', 200);
  cc.proven('c3', 200, 200);
  t.equal(cc.nextExpiryMs(200), 1_000);
  t.equal(cc.nextExpiryMs(1_000), 1_100, 'c2 already ran out');
  cc.linkClosed('c3', 300);
  t.equal(cc.nextExpiryMs(1_000), undefined);
});

t.test('clone: independent copies', async (t) => {
  const a = table();
  a.linkOpened('c2', 10);
  a.proven('c2', 10, 10);
  const b = a.clone();
  b.linkClosed('c2', 20);
  t.ok(a.reaches('c2', 20));
  t.notOk(b.reaches('c2', 20));
  t.throws(() => b.proven('c2', 15, 15), /clock went backwards/, 'the copy keeps the clock check');
});

t.test('exhaustive: a reset fences at once, a silent drop within the window, for every interleaving', async (t) => {
  for (const o of [{ windowMs: 4, ratesMs: [1, 2] }, { windowMs: 9, ratesMs: [2, 3, 4] }]) {
    const t0 = performance.now();
    const r = exploreContacts({ ...o, maxStates: 2_000_000 });
    t.comment(`window ${o.windowMs}, rates ${o.ratesMs.join('/')}: ${r.states} states, ${Math.round(performance.now() - t0)} ms`);
    t.ok(r.complete, 'every reachable state was visited');
    t.same(r.violations, [], `no end reaches its peer after a reset, or ${r.windowTicks} ticks into a silent drop`);
    t.ok(r.sawStaleReach, 'right after a silent drop a peer is still reached (the window is exercised)');
    t.ok(r.sawBothReach, 'both ends reach each other while linked');
  }
});

t.test('the exploration catches a shell that counts relayed heartbeats, stamps proofs when it feeds them, or dates a link by its authentication', async (t) => {
  const relayed = exploreContacts({ windowMs: 4, ratesMs: [1, 2], maxStates: 2_000_000, relayCounts: true });
  t.match(relayed.violations[0], /reaches .* though the path has been down/, `relayed: ${relayed.violations[0]}`);
  const late = exploreContacts({ windowMs: 4, ratesMs: [1, 2], maxStates: 2_000_000, stampAtFeed: true });
  t.match(late.violations[0], /reaches .* though the path has been down/, `stamped at feed: ${late.violations[0]}`);
  const opened = exploreContacts({ windowMs: 4, ratesMs: [1, 2], maxStates: 2_000_000, openIsContact: true });
  t.match(opened.violations[0], /reaches .* though the path has been down/, `authentication as contact: ${opened.violations[0]}`);
});
