// Checks ops/grafana/federation-dashboard.json: well-formed, every metric the federation guide
// names has a panel, panel ids unique, every target has a refId and a query. Writes each query (with
// Grafana's variables replaced) as a recording rule to the file given as second argument, so that
// ops/check.sh can have promtool parse every PromQL expression.
//
//   node ops/grafana/check-dashboard.mjs ops/grafana/federation-dashboard.json /tmp/queries.rules.yml
import { readFileSync, writeFileSync } from 'node:fs';

/** The metrics of the guide's "Monitoring and Observability" section. */
const GUIDE_METRICS = [
  'novaedge_federation_sync_lag_seconds',
  'novaedge_federation_sync_total',
  'novaedge_federation_sync_failures_total',
  'novaedge_federation_conflicts_total',
  'novaedge_federation_conflicts_pending',
  'novaedge_federation_member_healthy',
  'novaedge_agent_failover_total',
  'novaedge_agent_controller_connection',
  'novaedge_federation_partition_state',
];
// Grafana variables and what they stand for when promtool parses the query.
const VARIABLES = { $__rate_interval: '5m', $__interval: '1m', $__range: '1h', $instance: '.*' };

const [dashboardPath, rulesPath] = process.argv.slice(2);
if (dashboardPath === undefined || rulesPath === undefined) {
  console.error('usage: check-dashboard.mjs DASHBOARD.json RULES_OUT.yml');
  process.exit(2);
}
const problems = [];
let dash;
try {
  dash = JSON.parse(readFileSync(dashboardPath, 'utf8'));
} catch (e) {
  console.error(`${dashboardPath}: not valid JSON: ${e.message}`);
  process.exit(1);
}
for (const k of ['uid', 'title', 'schemaVersion', 'panels', 'templating']) if (dash[k] === undefined) problems.push(`missing top-level field ${k}`);

const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const ids = new Set();
const rules = [];
for (const p of panels) {
  if (ids.has(p.id)) problems.push(`panel id ${p.id} is used twice`);
  ids.add(p.id);
  const g = p.gridPos;
  if (g === undefined || !(g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 && g.y >= 0)) problems.push(`panel ${p.id} (${p.title}): bad gridPos`);
  if (p.type === 'row') continue;
  if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push(`panel ${p.id} (${p.title}): no targets`);
  const refs = new Set();
  for (const t of p.targets ?? []) {
    if (typeof t.expr !== 'string' || t.expr === '') problems.push(`panel ${p.id} (${p.title}): a target has no expr`);
    if (refs.has(t.refId)) problems.push(`panel ${p.id} (${p.title}): refId ${t.refId} twice`);
    refs.add(t.refId);
    let expr = t.expr ?? '';
    for (const [v, value] of Object.entries(VARIABLES)) expr = expr.split(v).join(value);
    if (expr.includes('$')) problems.push(`panel ${p.id} (${p.title}): unknown variable in ${t.expr}`);
    rules.push({ record: `dashboard:panel_${p.id}_${t.refId}`, expr });
  }
}
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
for (const m of GUIDE_METRICS) {
  if (!exprs.some((e) => new RegExp(`\\b${m}\\b`).test(e))) problems.push(`no panel queries ${m}`);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`${dashboardPath}: ${p}`);
  process.exit(1);
}
// JSON is YAML: promtool reads this as a rules file.
writeFileSync(rulesPath, JSON.stringify({ groups: [{ name: 'dashboard-queries', rules }] }, null, 1));
console.log(`${dashboardPath}: ${panels.length} panels, ${rules.length} queries, every guide metric shown`);
