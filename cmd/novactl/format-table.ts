// Plain-text tables in the guide's style: upper-case headings, columns padded to the widest cell
// plus three spaces, trailing spaces trimmed.

/** Render `rows` under `head`, each line prefixed with `indent`. */
export function formatTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')}`.trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** `Yes` or `No`. */
export function yesNo(b: boolean): string {
  return b ? 'Yes' : 'No';
}
