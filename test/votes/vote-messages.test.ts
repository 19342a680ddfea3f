// Vote-lease messages: valid ones parse, anything else is a ProtocolError naming the field.
import t from 'tap';
import { parseVoteReply, parseVoteRequest, voteLeaseProtocol } from '../../node/votes/vote-messages.ts';

t.test('protocol id embeds the federation', async (t) => {
  t.equal(voteLeaseProtocol('fed-1'), '/novaedge/fed-1/vote-lease/1.0.0');
});

t.test('valid messages', async (t) => {
  t.same(parseVoteRequest({ t: 'request', id: 'inc/1', v: 1 }), { t: 'request', id: 'inc/1', v: 1 });
  t.same(parseVoteRequest({ t: 'request', id: 'inc/1', v: 3, epoch: 7 }), { t: 'request', id: 'inc/1', v: 3, epoch: 7 });
  t.same(parseVoteReply({ t: 'grant', id: 'inc/1', durationMs: 1500, epoch: 7 }), { t: 'grant', id: 'inc/1', durationMs: 1500, epoch: 7 });
  t.same(parseVoteReply({ t: 'grant', id: 'inc/1', durationMs: 1500 }), { t: 'grant', id: 'inc/1', durationMs: 1500 });
  const clock = { stampMs: 1_767_225_600_500, physicalMs: 1_767_225_600_000 };
  t.same(parseVoteReply({ t: 'grant', id: 'inc/1', durationMs: 1500, clock }), { t: 'grant', id: 'inc/1', durationMs: 1500, clock });
  t.same(parseVoteReply({ t: 'refused', id: 'inc/1', reason: 'held_by_other', message: 'leased to c-b' }),
    { t: 'refused', id: 'inc/1', reason: 'held_by_other', message: 'leased to c-b' });
});

t.test('malformed messages are refused', async (t) => {
  const requests: unknown[] = [
    null, [], 'request', { t: 'grant', id: 'x', v: 1 }, { t: 'request', v: 1 }, { t: 'request', id: '', v: 1 },
    { t: 'request', id: 'x'.repeat(97), v: 1 }, { t: 'request', id: 'x' }, { t: 'request', id: 'x', v: -1 }, { t: 'request', id: 7, v: 1 },
    { t: 'request', id: 'x', v: 3, epoch: -1 }, { t: 'request', id: 'x', v: 3, epoch: 1.5 }, { t: 'request', id: 'x', v: 3, epoch: '2' }, { t: 'request', id: 'x', v: 3, epoch: 2 ** 53 },
  ];
  for (const m of requests) t.throws(() => parseVoteRequest(m), { code: 'PROTOCOL' }, JSON.stringify(m));
  const replies: unknown[] = [
    {}, { t: 'request', id: 'x', v: 1 }, { t: 'grant', id: 'x' }, { t: 'grant', id: 'x', durationMs: 0 },
    { t: 'grant', id: 'x', durationMs: 1.5 }, { t: 'grant', id: 'x', durationMs: 86_400_001 }, { t: 'grant', durationMs: 5 },
    { t: 'refused', id: 'x', reason: 'Held', message: '' }, { t: 'refused', id: 'x', reason: 'x'.repeat(33), message: '' },
    { t: 'refused', id: 'x', reason: 'starting', message: 'm'.repeat(501) }, { t: 'refused', id: 'x', reason: 'starting' },
    // A grant's clocks: whole ms since the epoch, the physical clock not above the stamp height.
    { t: 'grant', id: 'x', durationMs: 5, clock: null }, { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: 5 } },
    { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: 5, physicalMs: 6 } }, { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: -1, physicalMs: -1 } },
    { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: 5.5, physicalMs: 5 } }, { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: '5', physicalMs: 5 } },
    { t: 'grant', id: 'x', durationMs: 5, clock: { stampMs: 2 ** 53, physicalMs: 5 } },
    { t: 'grant', id: 'x', durationMs: 5, epoch: -1 }, { t: 'grant', id: 'x', durationMs: 5, epoch: null },
  ];
  for (const m of replies) t.throws(() => parseVoteReply(m), { code: 'PROTOCOL' }, JSON.stringify(m));
});
