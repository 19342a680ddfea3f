// Reading resources from `-f FILE` (or `-f -` for stdin): YAML or JSON, several YAML documents
// separated by `---`, a top-level list, or a kubectl-style `kind: List` with `items`.
import { readFile, stat } from 'node:fs/promises';
import YAML from 'yaml';
import { CliError } from './cli-context.ts';

/** Largest manifest file read, bytes. */
export const MANIFEST_BYTES_MAX = 64 * 1024 * 1024;

/** A resource read from a file, and where it came from (for error messages). */
export interface ManifestItem {
  resource: Record<string, unknown>;
  /** e.g. `routes.yaml document 2` or `routes.yaml document 1 item 3`. */
  source: string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : Buffer.from(c as Uint8Array);
    bytes += b.length;
    if (bytes > MANIFEST_BYTES_MAX) throw new CliError('INVALID_ARGUMENT', `stdin: more than ${MANIFEST_BYTES_MAX} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readText(file: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file === '-') return readAll(stdin);
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new CliError('INVALID_ARGUMENT', `${file}: not a regular file`);
    if (st.size > MANIFEST_BYTES_MAX) throw new CliError('INVALID_ARGUMENT', `${file}: ${st.size} bytes, more than ${MANIFEST_BYTES_MAX}`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('INVALID_ARGUMENT', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse manifest text into resources; `name` is used in messages. */
export function parseManifests(text: string, name: string): ManifestItem[] {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const all = Array.isArray(docs) ? docs : [docs];
  const out: ManifestItem[] = [];
  all.forEach((doc, d) => {
    const where = all.length === 1 ? name : `${name} document ${d + 1}`;
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      throw new CliError('INVALID_ARGUMENT', `${name}${pos === undefined ? '' : `:${pos.line}:${pos.col}`}: ${err.message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    const list = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items as unknown[] : undefined;
    const itemized = Array.isArray(value) || list !== undefined;
    const items: unknown[] = Array.isArray(value) ? value : list ?? [value];
    items.forEach((item, i) => {
      const source = itemized ? `${where} item ${i + 1}` : where;
      if (!isObject(item)) throw new CliError('INVALID_ARGUMENT', `${source}: not a resource (expected a mapping with apiVersion, kind, metadata)`);
      out.push({ resource: item, source });
    });
  });
  return out;
}

/** Read every resource from the files given with -f (in order). */
export async function readManifests(files: readonly string[], stdin: NodeJS.ReadableStream): Promise<ManifestItem[]> {
  const out: ManifestItem[] = [];
  for (const file of files) out.push(...parseManifests(await readText(file, stdin), file === '-' ? 'stdin' : file));
  if (out.length === 0) throw new CliError('INVALID_ARGUMENT', `no resources found in ${files.join(', ')}`);
  return out;
}

/** The key a resource would be stored under (namespace defaults to `default`), if it has one. */
export function manifestKey(r: Record<string, unknown>): string | undefined {
  const md = r.metadata as { name?: unknown; namespace?: unknown } | undefined;
  const ns = md?.namespace ?? 'default';
  return typeof r.kind === 'string' && typeof md?.name === 'string' && typeof ns === 'string' ? `${r.kind}/${ns}/${md.name}` : undefined;
}
