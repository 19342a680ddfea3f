// Issue 17 item 5: the exporter's 16-connection cap let slow clients block scrapes (a new
// connection was dropped until a slow one timed out). Sixteen clients that hold connections (half
// drip their headers a byte at a time, half sit on an idle keep-alive connection) must not stop a
// scrape: it gets a real 200 with the metrics, and the longest-idle connections make way for it.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { METRICS_CONNECTIONS_MAX, startMetricsServer } from '../../node/metrics/metrics-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WAIT = { timeoutMs: 10_000 };
/** A scrape must be answered within this (the old cap made it wait for a slow client's 10 s timeout, or fail). */
const SCRAPE_DEADLINE_MS = 5_000;

t.test(`${METRICS_CONNECTIONS_MAX} slow or idle clients do not block a scrape`, async (t) => {
  const registry = new Registry();
  new Gauge({ name: 'novaedge_test_up', help: 'test', registers: [registry] }).set(1);
  const server = await startMetricsServer({ registry, port: 0 });
  t.teardown(() => server.close());
  const { hostname, port } = new URL(server.url);

  const hogs: Socket[] = [];
  t.teardown(() => { for (const h of hogs) h.destroy(); });
  const open = async (): Promise<Socket> => {
    const s = connect(Number(port), hostname);
    s.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
    hogs.push(s);
    return s;
  };
  // Idle keep-alive connections: one answered request each, then nothing.
  for (let i = 0; i < METRICS_CONNECTIONS_MAX / 2; i++) {
    const s = await open();
    let got = '';
    const answered = new Promise<void>((resolve) => s.on('data', (c: Buffer) => { got += c.toString(); if (got.includes('novaedge_test_up')) resolve(); }));
    s.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    await answered;
  }
  // Slow-loris: headers that never end, a byte at a time.
  const drippers: Socket[] = [];
  for (let i = 0; i < METRICS_CONNECTIONS_MAX / 2; i++) {
    const s = await open();
    s.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\nX-Slow: `);
    drippers.push(s);
  }
  for (const s of drippers) s.write('a');

  for (let round = 0; round < 3; round++) {
    const res = await fetch(server.url, { signal: AbortSignal.timeout(SCRAPE_DEADLINE_MS) });
    t.equal(res.status, 200, `scrape ${round + 1} answered`);
    t.match(await res.text(), /novaedge_test_up 1/, `scrape ${round + 1} has the metrics`);
  }
  const k = server.connectionCounters();
  t.ok(k.evicted >= 1, `idle connections closed to admit the scrapes (${k.evicted})`);
  t.equal(k.refused, 0, 'no scrape refused');
  t.ok(k.open <= METRICS_CONNECTIONS_MAX, 'the cap holds');
  await waitFor('the longest-idle hog closed', () => hogs[0]!.destroyed || hogs[0]!.readableEnded, WAIT);
  t.pass('the oldest idle keep-alive connection made way');
});
