// LastWriterWins: of concurrent versions the one with the higher HLC stamp wins. Stamps are unique
// (member name breaks ties), so the winner is the same on every replica whatever the order.
import type { ConflictRule } from './conflict-rule.ts';
import { newestFirst, wholeValueWrite } from './whole-value.ts';

export const lastWriterWins: ConflictRule = {
  name: 'LastWriterWins',
  prune(entries) {
    const newest = newestFirst(entries)[0];
    return newest === undefined ? [] : [newest];
  },
  write(current, value, w) {
    const served = current === undefined ? undefined : lastWriterWins.view(current, w.self);
    return wholeValueWrite(current, value, w, served);
  },
  deleted(record) {
    return lastWriterWins.view(record, '') === null;
  },
  view(record) {
    const e = newestFirst(record.entries)[0];
    return (e?.value ?? null) as ReturnType<ConflictRule['view']>;
  },
  conflict() {
    return undefined;
  },
  resolve() {
    return undefined;
  },
};
