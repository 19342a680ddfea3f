// Start failures of the daemon an operator can act on, as one line: a stable code, the config field,
// its value and the fix (`novaedge: LISTEN_ADDRESS_IN_USE: node.listen[0] = /ip4/127.0.0.1/tcp/7101:
// another process is listening on this address; stop it, or ...`), with exit code 3 (EXIT_UNAVAILABLE).
// Configuration mistakes are ConfigErrors (exit 2); anything else stays a logged failure (exit 1).
import type { FileConfig } from '../../node/config/file-config.ts';
import { CodedError } from '../../node/errors.ts';
import { findStartProblem } from '../../node/util/start-errors.ts';

/** Exit code of a start failure: something the config names is held by another process or not on this host. */
export const EXIT_UNAVAILABLE = 3;

/** Stable codes of the start failures. */
export type StartFailureCode =
  | 'LISTEN_ADDRESS_IN_USE' | 'LISTEN_ADDRESS_UNAVAILABLE' | 'LISTEN_ADDRESS_DENIED'
  | 'METRICS_ADDRESS_IN_USE' | 'METRICS_ADDRESS_UNAVAILABLE' | 'METRICS_ADDRESS_DENIED'
  | 'DATA_DIR_LOCKED' | 'ADMIN_SOCKET_IN_USE';

/** A start failure: code, field, value and fix, printed as one line. */
export class StartFailure extends CodedError<StartFailureCode> {
  readonly field: string;
  readonly value: string;
  constructor(code: StartFailureCode, field: string, value: string, problem: string, options?: ErrorOptions) {
    super(code, `${code}: ${field} = ${value}: ${problem}`, options);
    this.field = field;
    this.value = value;
  }
}

/** Which part was starting: the node (store, listen addresses) or its services (metrics, admin socket). */
export type StartStage = 'node' | 'services';

// Where the listen address came from: node.listen, or (by default) spec.localMember.endpoint.
function listenField(cfg: FileConfig, address: string | undefined): { field: string; value: string; change: string } {
  const listen = cfg.node.listen;
  const i = address === undefined ? -1 : listen.findIndex((l) => l === address || l.startsWith(`${address}/`));
  const value = i >= 0 ? listen[i]! : address ?? listen.join(', ');
  if (!cfg.node.listenGiven && cfg.localMember.endpoint !== undefined) {
    return { field: 'spec.localMember.endpoint', value: `${cfg.localMember.endpoint} (listening on ${value})`, change: 'spec.localMember.endpoint, or set node.listen' };
  }
  return { field: i >= 0 ? `node.listen[${i}]` : 'node.listen', value, change: 'node.listen' };
}

/** The StartFailure `err` is, when it is one an operator can act on; undefined otherwise. */
export function startFailureOf(err: unknown, stage: StartStage, cfg: FileConfig): StartFailure | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === 'ADMIN_SOCKET_IN_USE') {
    return new StartFailure('ADMIN_SOCKET_IN_USE', 'node.adminSocket', cfg.node.adminSocket,
      'another node answers at this socket; stop it, or give this node its own node.adminSocket', { cause: err });
  }
  const found = findStartProblem(err);
  if (found === undefined) return undefined;
  if (found.problem === 'DATA_DIR_LOCKED') {
    return new StartFailure('DATA_DIR_LOCKED', 'node.dataDir', cfg.node.dataDir,
      'another process has this data directory open (its store is locked: is this node already running?); stop it, or give this node its own node.dataDir', { cause: err });
  }
  const what = {
    ADDRESS_IN_USE: ['IN_USE', 'another process is listening on this address; stop it, or choose a free port in'],
    ADDRESS_UNAVAILABLE: ['UNAVAILABLE', 'no network interface of this host has this address; use one of its own addresses (or 0.0.0.0) in'],
    ADDRESS_DENIED: ['DENIED', 'this user may not listen on this port (below 1024); choose a port from 1024 up in'],
  } as const;
  const [suffix, fix] = what[found.problem];
  if (stage === 'services') {
    const m = cfg.node.metricsAddress;
    const value = m.host.includes(':') ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`;
    return new StartFailure(`METRICS_ADDRESS_${suffix}`, 'node.metricsAddress', value, `${fix} node.metricsAddress (port 0 picks a free one)`, { cause: err });
  }
  const l = listenField(cfg, found.address);
  return new StartFailure(`LISTEN_ADDRESS_${suffix}`, l.field, l.value, `${fix} ${l.change}`, { cause: err });
}
