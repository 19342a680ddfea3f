// The gossip-silence rule (membership/gossip-silence.ts): a live link whose peer's heartbeats stopped
// is re-made, but not while the link is dead (liveness decides), not on a fresh connection, not again
// within the backoff, and not while heartbeats (even relayed ones) arrive.
import t from 'tap';
import fc from 'fast-check';
import { GOSSIP_REPAIR_BACKOFF_WINDOWS, GOSSIP_SILENCE_WINDOWS, gossipSilent, type GossipSilenceInput } from '../../membership/gossip-silence.ts';
import { check, runs } from '../helpers/fc-run.ts';

const W = 700;
const base: GossipSilenceInput = { nowMs: 100_000, windowMs: W, provenAtMs: 99_900, heardAtMs: 100_000 - 3 * W, newestConnectionMs: 50_000, lastRepairMs: undefined };

t.test('seed 100245: link answering pings, heartbeats silent for two windows on an old connection: re-make it', async (t) => {
  t.equal(gossipSilent(base), true);
  t.equal(gossipSilent({ ...base, heardAtMs: undefined }), true, 'never heard');
});

t.test('each reason to leave it alone', async (t) => {
  t.equal(gossipSilent({ ...base, heardAtMs: base.nowMs - GOSSIP_SILENCE_WINDOWS * W + 1 }), false, 'heard within two windows');
  t.equal(gossipSilent({ ...base, provenAtMs: undefined }), false, 'link never proven: liveness decides');
  t.equal(gossipSilent({ ...base, provenAtMs: base.nowMs - W }), false, 'link unproven for a window: liveness closes it anyway');
  t.equal(gossipSilent({ ...base, newestConnectionMs: base.nowMs - GOSSIP_SILENCE_WINDOWS * W + 1 }), false, 'a fresh connection may still be peering');
  t.equal(gossipSilent({ ...base, lastRepairMs: base.nowMs - GOSSIP_REPAIR_BACKOFF_WINDOWS * W + 1 }), false, 'repaired recently');
  t.equal(gossipSilent({ ...base, lastRepairMs: base.nowMs - GOSSIP_REPAIR_BACKOFF_WINDOWS * W }), true, 'backoff over');
});

t.test('property: never re-made while heartbeats arrive or the link is not proven within the window', async (t) => {
  const ms = fc.integer({ min: 0, max: 200_000 });
  check(t, fc.property(ms, fc.integer({ min: 1, max: 10_000 }), fc.option(ms, { nil: undefined }), fc.option(ms, { nil: undefined }), ms, fc.option(ms, { nil: undefined }),
    (nowMs, windowMs, provenAtMs, heardAtMs, newestConnectionMs, lastRepairMs) => {
      const i = { nowMs, windowMs, provenAtMs, heardAtMs, newestConnectionMs, lastRepairMs };
      if (!gossipSilent(i)) return;
      if (provenAtMs === undefined || nowMs - provenAtMs >= windowMs) throw new Error('re-made a link not proven live');
      if (heardAtMs !== undefined && nowMs - heardAtMs < GOSSIP_SILENCE_WINDOWS * windowMs) throw new Error('re-made a link whose peer was heard');
      if (nowMs - newestConnectionMs < GOSSIP_SILENCE_WINDOWS * windowMs) throw new Error('re-made a fresh connection');
    }), runs(500));
});
