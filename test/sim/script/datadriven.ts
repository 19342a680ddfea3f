// The file format of scenario scripts, cockroachdb/datadriven's: a sequence of blocks
//
//   command args...          (a trailing \ continues the line; lines after it, up to ----, are input)
//   ----
//   expected output          (ends at the first blank line)
//
// with comments (#) and blank lines between blocks. Output that contains blank lines is fenced by two
// separators instead:  ----  ----  output  ----  ----. Parsing keeps everything between blocks, so a
// file rewritten with actual outputs (SIM_REWRITE=1) changes only the outputs.

/** A malformed scenario file; stable code SCENARIO_SYNTAX. */
export class ScenarioSyntaxError extends Error {
  readonly code = 'SCENARIO_SYNTAX';
  override readonly name = 'ScenarioSyntaxError';
}

/** One block. */
export interface Block {
  /** Line of the command (1-based). */
  line: number;
  /** The block's lines as written, up to (not including) the ---- separator. */
  raw: string[];
  /** The command line, continuations joined. */
  command: string;
  /** Input lines between the command and the separator, joined with newlines (trimmed). */
  input: string;
  /** Expected output (no trailing newline). */
  expected: string;
}

/** A file: blocks and the text between them. */
export type Chunk = { kind: 'text'; line: string } | { kind: 'block'; block: Block };

const SEPARATOR = '----';

/** Parse a scenario file. */
export function parseScenario(text: string, name = 'scenario'): Chunk[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: Chunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      out.push({ kind: 'text', line: first });
      i++;
      continue;
    }
    const line = i + 1;
    const raw = [first];
    let command = trimmed;
    while (command.endsWith('\\') && i + 1 < lines.length) {
      i++;
      raw.push(lines[i]!);
      command = `${command.slice(0, -1).trimEnd()} ${lines[i]!.trim()}`;
    }
    i++;
    const input: string[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR) {
      raw.push(lines[i]!);
      input.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) throw new ScenarioSyntaxError(`${name}:${line}: "${command}" has no ${SEPARATOR} line after it`);
    i++; // the separator
    const expected: string[] = [];
    if (lines[i] === SEPARATOR) {
      i++;
      for (;;) {
        if (i >= lines.length) throw new ScenarioSyntaxError(`${name}:${line}: output opened with ${SEPARATOR} ${SEPARATOR} is not closed`);
        if (lines[i] === SEPARATOR && lines[i + 1] === SEPARATOR) {
          i += 2;
          if (i < lines.length && lines[i]!.trim() !== '') throw new ScenarioSyntaxError(`${name}:${i + 1}: a non-blank line after the closing ${SEPARATOR} ${SEPARATOR}`);
          i++;
          break;
        }
        expected.push(lines[i]!);
        i++;
      }
    } else {
      while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
      i++; // the blank line that ends it
    }
    out.push({ kind: 'block', block: { line, raw, command, input: input.join('\n').trim(), expected: expected.join('\n') } });
  }
  return out;
}

/** The text of a block's output section (separator included), as written back. */
export function outputSection(output: string): string[] {
  const body = output.replace(/\s+$/, '');
  if (body === '') return [SEPARATOR];
  const lines = body.split('\n');
  if (lines.some((l) => l.trim() === '')) return [SEPARATOR, SEPARATOR, ...lines, SEPARATOR, SEPARATOR];
  return [SEPARATOR, ...lines];
}

/** Render a file back, each block with `outputOf(block)` (its expected output when it returns undefined). */
export function renderScenario(chunks: readonly Chunk[], outputOf: (b: Block) => string | undefined): string {
  const out: string[] = [];
  for (const c of chunks) {
    if (c.kind === 'text') {
      out.push(c.line);
      continue;
    }
    out.push(...c.block.raw, ...outputSection(outputOf(c.block) ?? c.block.expected), '');
  }
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return `${out.join('\n')}\n`;
}

/** True when an actual output matches the expected one (trailing whitespace aside). */
export function outputMatches(expected: string, actual: string): boolean {
  return expected.replace(/\s+$/, '') === actual.replace(/\s+$/, '');
}
