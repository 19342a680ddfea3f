// The datadriven scenarios of test/sim/testdata/*.txt, each run on a simulated federation of the real
// node code (cluster.ts): the checked-in outputs are the expected behaviour. SIM_REWRITE=1 rewrites
// them with what the code does now (review the diff before committing it).
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimCluster } from './cluster.ts';
import { describeMismatches, runScenarioFile } from './script/runner.ts';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const only = process.env.SIM_SCENARIO;

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  t.test(file, async (t) => {
    const r = await runScenarioFile(join(DIR, file), () => new SimCluster());
    t.same(r.mismatches, [], describeMismatches(r));
  });
}
