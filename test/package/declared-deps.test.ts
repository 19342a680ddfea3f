// Every package the shipped code imports — at run time or for types only, since the published .d.ts
// files keep type imports — is a declared dependency. A package that is only there because another
// dependency pulls it in works with npm's flat node_modules and breaks under pnpm, Yarn PnP or a
// later version of that other package.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/novactl-run.ts';

// The folders tsconfig.build.json compiles into the package.
const build = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

// The specifiers of a file: `import … from 'x'` and `export … from 'x'` statements (over several
// lines too), `import 'x'`, and `import('x')`.
const SPECIFIERS = [
  /^(?:import|export)\s[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm,
  /^import\s+['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

t.test('every package the shipped code imports is a declared dependency', async (t) => {
  const used = new Map<string, string>(); // package → first file importing it
  for (const folder of build.include) {
    for (const file of sources(join(REPO_ROOT, folder))) {
      const text = readFileSync(file, 'utf8');
      for (const re of SPECIFIERS) {
        for (const m of text.matchAll(re)) {
          const p = packageOf(m[1]!);
          if (p !== undefined && !used.has(p)) used.set(p, file.slice(REPO_ROOT.length));
        }
      }
    }
  }
  t.ok(used.size > 10, `found the imports (${used.size} packages)`);
  const undeclared = [...used].filter(([p]) => pkg.dependencies[p] === undefined).map(([p, f]) => `${p} (imported by ${f})`);
  t.same(undeclared, [], 'not in package.json dependencies');
});
