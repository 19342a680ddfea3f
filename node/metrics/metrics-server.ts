// The HTTP endpoint Prometheus scrapes: GET /metrics of one registry, nothing else. Bounded: no
// request body is accepted, requests and headers must arrive within a short deadline, connections
// are capped, idle keep-alive connections are closed soon. Slow or idle clients cannot block a
// scrape: at the connection cap, the connection idle the longest (no request being answered: a
// keep-alive connection between requests, or one still sending its headers) is closed to admit the
// new one. Binds loopback unless told otherwise.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { ConnectionSlots } from '../util/connection-slots.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';

/** Whole request (headers included) must arrive within this, ms: a scrape's headers fit in one packet. */
export const METRICS_REQUEST_TIMEOUT_MS = 3_000;
/** How often late requests are looked for, ms (Node's default, 30 s, would stretch the deadline above). */
export const METRICS_TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Most simultaneous connections (Prometheus uses one or two); at the cap the longest-idle one makes way. */
export const METRICS_CONNECTIONS_MAX = 16;
/** Idle keep-alive connections are closed after this, ms. */
export const METRICS_KEEP_ALIVE_MS = 5_000;

/** Options of the metrics server. */
export interface MetricsServerOptions {
  /** Registry served. */
  registry: Registry;
  /** Host to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0: the system picks one; see `url`). */
  port: number;
  /** Logger (default silent). */
  logger?: Logger;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The scrape URL, with the bound port. */
  readonly url: string;
  /** Requests answered, by status code. */
  counters(): Record<number, number>;
  /** Connections open now, closed to admit a new one at the cap, and refused (every one answering a request). */
  connectionCounters(): { open: number; evicted: number; refused: number };
  /** Stop listening and close every connection. Idempotent. */
  close(): Promise<void>;
}

/** Start serving `registry` at http://host:port/metrics. */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const log = loggerOrSilent(o.logger).child({ component: 'metrics' });
  const answered: Record<number, number> = {};
  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    answered[status] = (answered[status] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(body);
  };
  const slots = new ConnectionSlots<Socket>(METRICS_CONNECTIONS_MAX);
  const connections = { evicted: 0, refused: 0 };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET\n', { Allow: 'GET, HEAD' });
    // A scrape has no body; refuse one instead of reading it.
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      res.setHeader('Connection', 'close');
      return reply(res, 413, 'no request body accepted\n');
    }
    try {
      const text = await o.registry.metrics();
      reply(res, 200, req.method === 'HEAD' ? '' : text, { 'Content-Type': o.registry.contentType });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'collecting metrics failed');
      reply(res, 500, 'collecting metrics failed\n');
    }
  };
  const server = createServer({
    requestTimeout: METRICS_REQUEST_TIMEOUT_MS, headersTimeout: METRICS_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: METRICS_TIMEOUT_CHECK_INTERVAL_MS, keepAliveTimeout: METRICS_KEEP_ALIVE_MS,
  }, (req, res) => {
    // Answering: this connection keeps its slot until the response is done.
    const socket = req.socket;
    slots.working(socket);
    res.once('close', () => slots.idle(socket));
    void handle(req, res).catch((err: unknown) => {
      log.error({ err: String(err) }, 'metrics request failed');
      res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    const admission = slots.admit(socket);
    if (!admission.admitted) {
      connections.refused++;
      socket.destroy();
      return;
    }
    if (admission.evicted !== undefined) {
      connections.evicted++;
      log.debug({ connectionsMax: METRICS_CONNECTIONS_MAX }, 'metrics connections at the cap: closed the longest-idle one for a new client');
      admission.evicted.destroy();
    }
    socket.once('close', () => slots.release(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/metrics`;
  log.info({ url }, 'metrics server listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    counters: () => ({ ...answered }),
    connectionCounters: () => ({ open: slots.size, ...connections }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
