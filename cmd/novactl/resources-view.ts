// `get`: resources as a table, or as the resources themselves (JSON/YAML, ready to apply again).
import type { ResourceView } from '../../storage/index.ts';
import { formatTable, yesNo } from './format-table.ts';
import { formatAgo } from './format-time.ts';

/** The resources table; NAMESPACE is shown when listing across namespaces. */
export function formatResources(items: readonly ResourceView[], allNamespaces: boolean, nowMs: number): string {
  const rows = items.map((v) => {
    const [kind, namespace, name] = v.key.split('/') as [string, string, string];
    const row = [name, kind, v.origin, String(v.seq), yesNo(v.conflict), formatAgo(v.hlc.wallMs, nowMs)];
    return allNamespaces ? [namespace, ...row] : row;
  });
  const head = ['NAME', 'KIND', 'ORIGIN', 'SEQ', 'CONFLICT', 'UPDATED'];
  return formatTable(allNamespaces ? ['NAMESPACE', ...head] : head, rows);
}

/** What `-o json|yaml` prints: one resource, or a kubectl-style List of them. */
export function resourcesDocument(items: readonly ResourceView[], single: boolean): unknown {
  if (single && items[0] !== undefined) return items[0].value;
  return { apiVersion: 'v1', kind: 'List', items: items.map((v) => v.value) };
}
