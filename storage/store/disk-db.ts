// The production store database: LevelDB (classic-level) in `<dataDir>/store`, utf8 keys and values.
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';

/** Open (construct; the store calls `open()`) the LevelDB of a data directory. */
export async function openDiskDb(dataDir: string, options: { writeBufferBytes: number }): Promise<ClassicLevel<string, string>> {
  return new ClassicLevel<string, string>(join(dataDir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'utf8', writeBufferSize: options.writeBufferBytes });
}
