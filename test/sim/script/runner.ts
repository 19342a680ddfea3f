// Runs a scenario file: every block's command against a fresh driver, its output compared with the
// expected output written under it. With SIM_REWRITE=1 (or { rewrite: true }) the file is written back
// with the actual outputs instead, like datadriven's -rewrite: run it, read the diff, commit it.
import { readFile, writeFile } from 'node:fs/promises';
import { ScriptError } from './args.ts';
import { outputMatches, parseScenario, renderScenario, type Block } from './datadriven.ts';
import type { SimDriver } from './driver.ts';
import { ScenarioInterpreter } from './interpreter.ts';

/** A block whose output differs from what the file expects. */
export interface ScenarioMismatch {
  line: number;
  command: string;
  expected: string;
  actual: string;
}

/** What running a scenario gave. */
export interface ScenarioResult {
  /** File (or name) run. */
  path: string;
  /** Blocks run. */
  blocks: number;
  /** Blocks whose output differs (empty when rewriting: the file was updated instead). */
  mismatches: ScenarioMismatch[];
  /** True when the file was written back with the actual outputs. */
  rewritten: boolean;
}

/** Options of a run. */
export interface ScenarioOptions {
  /** Write actual outputs back (default: SIM_REWRITE=1 in the environment). */
  rewrite?: boolean;
}

/** A command that could not run (bad syntax, a driver that threw); names the file and line. */
export class ScenarioError extends Error {
  readonly code = 'SCENARIO';
  override readonly name = 'ScenarioError';
  readonly line: number;
  constructor(path: string, line: number, command: string, cause: unknown) {
    super(`${path}:${line}: ${command}: ${cause instanceof ScriptError ? cause.message : `threw ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`}`, { cause });
    this.line = line;
  }
}

/** Run scenario text against a driver; returns the result and the text with actual outputs. */
export async function runScenarioText(text: string, name: string, makeDriver: () => SimDriver | Promise<SimDriver>): Promise<{ result: Omit<ScenarioResult, 'rewritten'>; actualText: string }> {
  const chunks = parseScenario(text, name);
  const driver = await makeDriver();
  const interpreter = new ScenarioInterpreter(driver);
  const actual = new Map<Block, string>();
  const mismatches: ScenarioMismatch[] = [];
  try {
    for (const c of chunks) {
      if (c.kind !== 'block') continue;
      let out: string;
      try {
        out = await interpreter.run(c.block);
      } catch (err) {
        throw new ScenarioError(name, c.block.line, c.block.command, err);
      }
      actual.set(c.block, out);
      if (!outputMatches(c.block.expected, out)) mismatches.push({ line: c.block.line, command: c.block.command, expected: c.block.expected, actual: out });
    }
  } finally {
    await driver.stop();
  }
  return { result: { path: name, blocks: actual.size, mismatches }, actualText: renderScenario(chunks, (b) => actual.get(b)) };
}

/** Run a scenario file; with rewrite, write the actual outputs back into it. */
export async function runScenarioFile(path: string, makeDriver: () => SimDriver | Promise<SimDriver>, o: ScenarioOptions = {}): Promise<ScenarioResult> {
  const rewrite = o.rewrite ?? process.env.SIM_REWRITE === '1';
  const text = await readFile(path, 'utf8');
  const { result, actualText } = await runScenarioText(text, path, makeDriver);
  if (!rewrite) return { ...result, rewritten: false };
  if (actualText !== text) await writeFile(path, actualText);
  return { ...result, mismatches: [], rewritten: actualText !== text };
}

/** The mismatches as a readable report (for a test failure). */
export function describeMismatches(r: Pick<ScenarioResult, 'path' | 'mismatches'>): string {
  return r.mismatches.map((m) => [
    `${r.path}:${m.line}: ${m.command}`,
    'expected:', ...indent(m.expected), 'actual:', ...indent(m.actual),
  ].join('\n')).join('\n\n') + (r.mismatches.length === 0 ? '' : '\n(SIM_REWRITE=1 writes the actual outputs into the file)');
}

function indent(s: string): string[] {
  return s === '' ? ['  (nothing)'] : s.split('\n').map((l) => `  ${l}`);
}
