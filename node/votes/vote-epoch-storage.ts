// Where an agent keeps the highest membership epoch it granted its vote at (vote-responder.ts): one
// key in the `votes` sublevel of its replica's database, written with sync (a save resolves once
// fsynced), so a restarted agent still refuses controllers behind it (quorum/agent-epochs.ts). In the
// simulation it shares the database's crash semantics (an unsynced write is lost with the process).
import { SYNC_WRITE, type StoreDb } from '../../storage/store/store-db.ts';

/** Name of the sublevel. */
export const VOTES_SUBLEVEL = 'votes';

const EPOCH_KEY = 'epoch';

/** The saved epoch and how to save a higher one. */
export interface VoteEpochStorage {
  /** The saved epoch (0 when none, or when what is saved is not an epoch: logged by the caller). */
  load(): Promise<number>;
  save(epoch: number): Promise<void>;
}

/** VoteEpochStorage in `db` (open). */
export function levelVoteEpochStorage(db: StoreDb): VoteEpochStorage {
  const sub = db.sublevel<string, string>(VOTES_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  return {
    load: async () => {
      const text = await sub.get(EPOCH_KEY);
      if (text === undefined || text === null) return 0;
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`the saved vote epoch ${JSON.stringify(String(text).slice(0, 40))} is not an epoch`);
      return n;
    },
    save: (epoch) => sub.put(EPOCH_KEY, String(epoch), SYNC_WRITE),
  };
}
