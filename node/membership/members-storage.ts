// Where a controller keeps its membership state (members-acceptor.ts SlotStorage): one key in the
// `members` sublevel of the store's database, so it shares the store's durability (written with sync:
// a save resolves once fsynced) and, in the simulation, its crash semantics (test/sim/sim-level.ts:
// an unsynced write is lost with the process). A sublevel's keys never meet the store's own prefixes.
import { SYNC_WRITE, type StoreDb } from '../../storage/store/store-db.ts';
import type { SlotStorage } from './members-acceptor.ts';

/** Name of the sublevel. */
export const MEMBERS_SUBLEVEL = 'members';

/** Key of the state in it. */
const STATE_KEY = 'state';

/** SlotStorage in `db` (open, or opened by the store before the first load or save). */
export function levelSlotStorage(db: StoreDb): SlotStorage {
  const sub = db.sublevel<string, string>(MEMBERS_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  return {
    load: async () => (await sub.get(STATE_KEY)) ?? undefined,
    save: (text) => sub.put(STATE_KEY, text, SYNC_WRITE),
  };
}
