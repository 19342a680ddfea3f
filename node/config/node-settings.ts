// The `node:` section of a config file: what this process needs that is not federation policy —
// its identity key and certificate files, trusted CAs, listen addresses, data directory, admin
// socket, metrics address and logging. Relative paths are taken from the config file's directory,
// so a config and its key material can move together.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigIssue } from '../errors.ts';
import { DEFAULT_ADMIN_SOCKET } from '../admin/default-socket.ts';
import { SOCKET_PATH_BYTES_MAX } from '../admin/socket-file.ts';
import { TRUSTED_CAS_PER_ROLE_MAX } from '../identity/trust-store.ts';
import { REMOTE_CLIENT_CONNECTIONS_MAX_DEFAULT } from './membership-config.ts';
import { childPath, type FieldReader } from './field-reader.ts';
import { splitHostPort } from './endpoint.ts';

/** Log levels, most verbose first (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Log output: one JSON object per line (for collectors) or readable lines (for a terminal). */
export type LogFormat = 'json' | 'pretty';

/** Address of the Prometheus exporter. */
export interface MetricsAddress {
  /** Host or IP to bind; loopback by default so metrics are not exposed by accident. */
  host: string;
  /** TCP port; 0 lets the system pick one (the log line tells which). */
  port: number;
}

/** Node settings with defaults applied and paths made absolute. */
export interface NodeSettings {
  /** Ed25519 identity key file (mode 0600; `novactl keygen` creates it). Must exist. */
  identityKeyFile: string;
  /** This node's member certificate file, issued by the federation CA. Must exist. */
  certificateFile: string;
  /** CA public key files trusted for controller certificates. At least one; each must exist. */
  controllerCaFiles: string[];
  /** CA public key files trusted for agent certificates. Default []; each must exist. */
  agentCaFiles: string[];
  /**
   * TCP multiaddrs to listen on. Default for a controller the host and port of localMember.endpoint
   * (an IP as it is, localhost as 127.0.0.1, a DNS name as 0.0.0.0; 0.0.0.0:9090 without one); for an agent /ip4/127.0.0.1/tcp/0 (agents dial controllers; nothing dials them).
   */
  listen: string[];
  /** True when `listen` was given in the file (else it is the default). */
  listenGiven: boolean;
  /** Directory for the store and other state. Default /var/lib/novaedge. */
  dataDir: string;
  /** Unix socket of the admin JSON-RPC server (mode 0600). Default /run/novaedge/admin.sock, where novactl looks. */
  adminSocket: string;
  /** Prometheus exporter address. Default 127.0.0.1:9464. */
  metricsAddress: MetricsAddress;
  /**
   * The remote admin protocol (controllers): served to operator and viewer certificates when
   * `enabled`. Default disabled: client certificates are refused.
   */
  remoteAdmin: {
    /** Serve it. Default false. */
    enabled: boolean;
    /** CA public key files trusted for client certificates. Default [] (the controller CAs). */
    clientCaFiles: string[];
    /** Most client connections at once. Default 64. */
    connectionsMax: number;
  };
  /** Logging. */
  log: {
    /** Least level written. Default info. */
    level: LogLevel;
    /** json (default) or pretty. */
    format: LogFormat;
  };
}

/** Defaults of the node settings. */
export const NODE_DEFAULTS = Object.freeze({
  dataDir: '/var/lib/novaedge',
  adminSocket: DEFAULT_ADMIN_SOCKET,
  metricsAddress: Object.freeze({ host: '127.0.0.1', port: 9464 }),
  listenPort: 9090,
  agentListen: '/ip4/127.0.0.1/tcp/0',
  log: Object.freeze({ level: 'info' as LogLevel, format: 'json' as LogFormat }),
});

/** Most listen addresses. */
const LISTEN_MAX = 16;

/** Existence checks for files named in the config; replaceable in tests. */
export interface FileChecks {
  /** Problem with a file that must exist and be a regular file, or undefined when it is fine. */
  file(path: string): string | undefined;
}

/** The real file system. */
export const REAL_FILES: FileChecks = {
  file(path) {
    try {
      return statSync(path).isFile() ? undefined : `${path} is not a regular file`;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code ?? (e as Error).message})`;
    }
  },
};

/** Parse `host:port` of the metrics exporter (port 0 allowed: the system picks one). */
export function parseMetricsAddress(text: string): MetricsAddress | undefined {
  const m = /^(.*):0$/.exec(text);
  if (m !== null) {
    const hp = splitHostPort(`${m[1]}:1`);
    return hp === undefined ? undefined : { host: hp.host, port: 0 };
  }
  return splitHostPort(text);
}

/** Read the `node:` mapping; `defaultListen` is used when `listen` is not given. */
export function readNodeSettings(r: FieldReader, baseDir: string, files: FileChecks, defaultListen: string[], issues: ConfigIssue[]): NodeSettings {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const mustExist = (key: string, path: string | undefined): string => {
    if (path === undefined) return '';
    const full = abs(path);
    const problem = files.file(full);
    if (problem !== undefined) issues.push({ field: childPath(r.path, key), problem });
    return full;
  };
  const fileList = (key: string, required: boolean): string[] => {
    const raw = r.raw(key);
    const list = r.strings(key, TRUSTED_CAS_PER_ROLE_MAX) ?? [];
    if (required && raw === undefined) r.problem(key, 'is required: list at least one controller CA public key file');
    else if (required && Array.isArray(raw) && raw.length === 0) r.problem(key, 'list at least one controller CA public key file');
    return list.map((p, i) => mustExist(`${key}[${i}]`, p));
  };

  const identityKeyFile = mustExist('identityKeyFile', r.str('identityKeyFile', { required: true }));
  const certificateFile = mustExist('certificateFile', r.str('certificateFile', { required: true }));
  const controllerCaFiles = fileList('controllerCaFiles', true);
  const agentCaFiles = fileList('agentCaFiles', false);
  const listenGiven = r.has('listen');
  const listen = r.strings('listen', LISTEN_MAX) ?? defaultListen;
  const dataDir = abs(r.str('dataDir', { default: NODE_DEFAULTS.dataDir })!);
  const adminSocket = abs(r.str('adminSocket', { default: NODE_DEFAULTS.adminSocket })!);
  if (Buffer.byteLength(adminSocket) > SOCKET_PATH_BYTES_MAX) {
    r.problem('adminSocket', `${adminSocket} is longer than ${SOCKET_PATH_BYTES_MAX} bytes, the limit of a Unix socket path; choose a shorter path`);
  }
  let metricsAddress: MetricsAddress = { ...NODE_DEFAULTS.metricsAddress };
  const metricsText = r.str('metricsAddress');
  if (metricsText !== undefined) {
    const a = parseMetricsAddress(metricsText);
    if (a === undefined) r.problem('metricsAddress', `must be host:port (e.g. "127.0.0.1:9464", "[::1]:9464"), got ${JSON.stringify(metricsText.slice(0, 80))}`);
    else metricsAddress = a;
  }
  const raR = r.child('remoteAdmin');
  const remoteAdmin = {
    enabled: raR.bool('enabled', { default: false })!,
    clientCaFiles: (raR.strings('clientCaFiles', TRUSTED_CAS_PER_ROLE_MAX) ?? []).map((p, i) => mustExist(`remoteAdmin.clientCaFiles[${i}]`, p)),
    connectionsMax: raR.int('connectionsMax', 1, 1024, { default: REMOTE_CLIENT_CONNECTIONS_MAX_DEFAULT })!,
  };
  raR.done();
  const logR = r.child('log');
  const log = {
    level: logR.oneOf('level', LOG_LEVELS) ?? NODE_DEFAULTS.log.level,
    format: logR.oneOf('format', ['json', 'pretty'] as const) ?? NODE_DEFAULTS.log.format,
  };
  logR.done();
  r.done();
  return { identityKeyFile, certificateFile, controllerCaFiles, agentCaFiles, listen, listenGiven, dataDir, adminSocket, metricsAddress, remoteAdmin, log };
}
