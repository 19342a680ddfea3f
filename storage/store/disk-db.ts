// The production store database: LevelDB (classic-level), utf8 keys and values.
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { StoreDb } from './store-db.ts';

/** LevelDB memtable size: larger means fewer level-0 files, so fewer write stalls. */
export const DISK_WRITE_BUFFER_BYTES = 16 * 1024 * 1024;

/** The LevelDB in exactly `path` (constructed; the store calls `open()`). */
export function openLevelDb(path: string, options: { writeBufferBytes?: number } = {}): StoreDb {
  return new ClassicLevel<string, string>(path, {
    keyEncoding: 'utf8', valueEncoding: 'utf8', writeBufferSize: options.writeBufferBytes ?? DISK_WRITE_BUFFER_BYTES,
  });
}

/** The LevelDB of a data directory: `<dataDir>/store` (constructed; the store calls `open()`). */
export async function openDiskDb(dataDir: string, options: { writeBufferBytes?: number } = {}): Promise<StoreDb> {
  return openLevelDb(join(dataDir, 'store'), options);
}
