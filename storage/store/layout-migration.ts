// Bringing a store written with an older key layout (see layout.ts) up to the current one, at open,
// before anything reads it. Layout 1 -> 2 moves each key's digest from its index entry into its
// change-log entry. Each synced batch converts a run of keys completely (change-log value rewritten,
// index entry deleted), so a crash part-way leaves a store the next open goes on converting; the
// format mark goes last.
import {
  changeKey, changeValue, parseLegacyIndexValue, prefixEnd, LAYOUT_VERSION, LEGACY_INDEX, META_FORMAT,
} from './layout.ts';
import { SYNC_WRITE, type StoreDb } from './store-db.ts';

/** Keys converted per synced batch: bounds the batch (two operations each) and the memory held. */
const MIGRATION_KEYS_PER_BATCH = 2048;

/** What a migration did. */
export interface MigrationReport {
  /** Layout found on disk (1 when the store predates the format mark). */
  fromVersion: number;
  /** Layout the store has now. */
  toVersion: number;
  /** Keys whose entries were rewritten. */
  keys: number;
}

/** Upgrade the store's layout in place; throws for a layout newer than this version writes. */
export async function migrateLayout(db: StoreDb): Promise<MigrationReport> {
  const mark = await db.get(META_FORMAT);
  if (mark === undefined && (await db.iterator({ limit: 1 }).all()).length === 0) {
    // A brand-new store: nothing to convert (and nothing to report), only the mark to write.
    await db.put(META_FORMAT, String(LAYOUT_VERSION), SYNC_WRITE);
    return { fromVersion: LAYOUT_VERSION, toVersion: LAYOUT_VERSION, keys: 0 };
  }
  const fromVersion = mark === undefined ? 1 : Number(mark);
  if (fromVersion === LAYOUT_VERSION) return { fromVersion, toVersion: LAYOUT_VERSION, keys: 0 };
  if (!Number.isSafeInteger(fromVersion) || fromVersion < 1 || fromVersion > LAYOUT_VERSION) {
    throw new Error(`store: key layout "${String(mark).slice(0, 20)}" is not one this version reads (1..${LAYOUT_VERSION}); was it written by a newer version?`);
  }
  let keys = 0;
  while (true) {
    // A fresh range each round: the previous round deleted what it converted.
    const chunk = await db.iterator({ gte: LEGACY_INDEX, lt: prefixEnd(LEGACY_INDEX), limit: MIGRATION_KEYS_PER_BATCH }).all();
    if (chunk.length === 0) break;
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
    for (const [k, v] of chunk) {
      const { seq, digest } = parseLegacyIndexValue(v);
      ops.push({ type: 'put', key: changeKey(seq), value: changeValue(k.slice(LEGACY_INDEX.length), digest) }, { type: 'del', key: k });
    }
    await db.batch(ops, SYNC_WRITE);
    keys += chunk.length;
  }
  await db.put(META_FORMAT, String(LAYOUT_VERSION), SYNC_WRITE);
  return { fromVersion, toVersion: LAYOUT_VERSION, keys };
}
