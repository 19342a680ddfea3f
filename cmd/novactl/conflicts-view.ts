// `federation conflicts` (RESOURCE LOCAL VERSION REMOTE VERSION DETECTED) and `conflicts describe`.
import YAML from 'yaml';
import type { ConflictsResult, DescribeResult } from '../../node/admin/controller-api.ts';
import type { ConflictVersion } from '../../storage/index.ts';
import { formatTable } from './format-table.ts';
import { formatAgo } from './format-time.ts';

/** A version's name: `v3 (local)` for the answering member's own, else `v5 (eu-west)`. */
export function versionName(v: ConflictVersion, self: string): string {
  return `v${v.counter} (${v.origin === self ? 'local' : v.origin})`;
}

/** The pending-conflicts table. */
export function formatConflicts(r: ConflictsResult, nowMs: number): string {
  if (r.conflicts.length === 0) return 'No pending conflicts.';
  const rows = r.conflicts.map((c) => {
    const [first, ...more] = c.remote;
    const remote = first === undefined ? '-' : `${versionName(first, r.member)}${more.length === 0 ? '' : ` +${more.length}`}`;
    return [c.key, versionName(c.local, r.member), remote, formatAgo(c.detected.wallMs, nowMs)];
  });
  return formatTable(['RESOURCE', 'LOCAL VERSION', 'REMOTE VERSION', 'DETECTED'], rows);
}

function indent(text: string, by: string): string {
  return text.split('\n').map((l) => `${by}${l}`).join('\n');
}

function versionBlock(title: string, v: ConflictVersion, self: string, nowMs: number): string {
  const value = v.removed === true ? '(field removed)' : v.value === null ? '(deleted)' : YAML.stringify(v.value).trimEnd();
  return [`${title}: ${versionName(v, self)}, written by ${v.origin} ${formatAgo(v.hlc.wallMs, nowMs)}`, indent(value, '    ')].join('\n');
}

/** One conflict with both sides (`self` is the member answering). */
export function formatDescribe(c: DescribeResult, self: string, nowMs: number): string {
  const lines = [`Resource: ${c.key}`, `Strategy: ${c.strategy}`, `Detected: ${formatAgo(c.detected.wallMs, nowMs)}`, ''];
  if (c.fields !== undefined && c.fields.length > 0) {
    lines.push('Conflicting fields (the newest value is served):');
    for (const f of c.fields) {
      lines.push(`  ${f.path.join('.') || '(root)'}:`);
      for (const v of f.versions) lines.push(`    ${versionName(v, self)}: ${v.removed === true ? '(removed)' : JSON.stringify(v.value)}`);
    }
    lines.push('');
  }
  lines.push(versionBlock('Local version (served here)', c.local, self, nowMs));
  for (const v of c.remote) lines.push(versionBlock('Remote version', v, self, nowMs));
  lines.push('', `Resolve with: novactl federation conflicts resolve ${c.key} --keep local|remote`);
  return lines.join('\n');
}
