// Output formats of read commands: a table for people (default), JSON or YAML for scripts.
import { Option } from 'commander';
import YAML from 'yaml';

/** An output format. */
export type OutputFormat = 'table' | 'json' | 'yaml';

/** The `-o, --output` option every read command takes. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');
}

/** `data` in the chosen format; `table` renders the human form. Ends with a newline. */
export function render(format: OutputFormat, data: unknown, table: () => string): string {
  const text = format === 'json' ? JSON.stringify(data, null, 2) : format === 'yaml' ? YAML.stringify(data).trimEnd() : table();
  return text.endsWith('\n') ? text : `${text}\n`;
}
