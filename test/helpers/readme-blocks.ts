// The fenced code blocks of a section of README.md, so tests run the walkthrough exactly as printed.

/** One fenced block: its language tag and its text. */
export interface CodeBlock {
  lang: string;
  text: string;
}

/** The blocks of the `## heading` section of `markdown` (up to the next `## `), in order. */
export function sectionBlocks(markdown: string, heading: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README has no section "## ${heading}"`);
  const blocks: CodeBlock[] = [];
  let open: CodeBlock | undefined;
  for (const line of lines.slice(start + 1)) {
    if (open === undefined && line.startsWith('## ')) break;
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence !== null) {
      if (open === undefined) open = { lang: fence[1]!, text: '' };
      else { blocks.push(open); open = undefined; }
      continue;
    }
    if (open !== undefined) open.text += `${line}\n`;
  }
  if (open !== undefined) throw new Error(`README section "${heading}": a code block is not closed`);
  return blocks;
}

/**
 * Output as it is compared with a printed example: times that differ from run to run (`12ms`,
 * `1.2s`, `3s ago`) become `<t>`, runs of spaces one space, trailing spaces dropped.
 */
export function normalizeOutput(text: string): string[] {
  return text.split('\n')
    .map((l) => l.replace(/\b\d+(\.\d+)?(ms|s|m|h)( ago)?\b/g, '<t>').replace(/\s+/g, ' ').trim())
    .filter((l) => l !== '');
}
