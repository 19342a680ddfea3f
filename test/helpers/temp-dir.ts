// Temporary directories removed when the test ends.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of a tap test object the helpers need. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** A fresh directory under the system temp dir, deleted at teardown. */
export async function tempDir(t: Teardownable, prefix = 'novaedge-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
