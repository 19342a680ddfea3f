// When a learner counts as caught up (membership/promotion.ts): an anti-entropy session with it found
// the stores equal, or within the bound of keys apart, and refused nothing.
import t from 'tap';
import { isCaughtUp, PROMOTE_DIFFERING_KEYS_MAX } from '../../membership/promotion.ts';

t.test('caught up: equal roots, or few keys apart and nothing refused', async (t) => {
  t.ok(isCaughtUp({ inSync: true, differingKeys: 0, rejected: 0 }));
  t.ok(isCaughtUp({ inSync: false, differingKeys: PROMOTE_DIFFERING_KEYS_MAX, rejected: 0 }), 'the writes of the last moment');
  t.notOk(isCaughtUp({ inSync: false, differingKeys: PROMOTE_DIFFERING_KEYS_MAX + 1, rejected: 0 }), 'still catching up');
  t.notOk(isCaughtUp({ inSync: false, differingKeys: 100_000, rejected: 0 }), 'the first session of a new learner');
  t.notOk(isCaughtUp({ inSync: false, differingKeys: 1, rejected: 1 }), 'it refused a record: not in step');
});
