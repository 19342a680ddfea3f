#!/usr/bin/env node
// `novaedge`: the daemon. Runs one controller or agent from a YAML config file, with its Prometheus
// exporter and admin socket, until SIGTERM or SIGINT.
//
//   node cmd/novaedge.ts --config /etc/novaedge/us-west.yaml [--log-format pretty] [--check] [--pid-file FILE]
//
// Exit codes: 0 stopped cleanly (or --check passed), 1 failed at run time, 2 bad usage or bad
// configuration (every problem printed on stderr as `path: problem`), 3 something the config names
// is held by another process or not on this host (one line on stderr: `CODE: field = value: fix`,
// cmd/novaedge/start-failure.ts), 128+n on a second signal. See docs/configuration.md.
import { Command, CommanderError, Option } from 'commander';
import type { Logger } from 'pino';
import { loadConfigFile, type FileConfig } from '../node/config/file-config.ts';
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../node/config/node-settings.ts';
import { ConfigError } from '../node/errors.ts';
import { daemonLogger } from './novaedge/daemon-logger.ts';
import { removePidFile, writePidFile } from './novaedge/pid-file.ts';
import { EXIT_UNAVAILABLE, StartFailure } from './novaedge/start-failure.ts';
import type { DaemonNode } from './novaedge/start-node.ts';

/** A clean stop that takes longer than this is cut short (exit 1). */
const SHUTDOWN_TIMEOUT_MS = 30_000;
const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

function printIssues(file: string, err: ConfigError): void {
  process.stderr.write(`novaedge: invalid configuration in ${file}:\n${err.issues.map((i) => `${i.field}: ${i.problem}\n`).join('')}`);
}

const program = new Command('novaedge')
  .description('Run a NovaEdge Federation controller or agent from a config file')
  .requiredOption('-c, --config <file>', 'YAML config file (kind NovaEdgeFederation or NovaEdgeAgent)')
  .addOption(new Option('--log-format <format>', 'log output (default: node.log.format, else json)').choices(['json', 'pretty']))
  .addOption(new Option('--log-level <level>', 'least level logged (default: node.log.level, else info)').choices([...LOG_LEVELS]))
  .option('--check', 'validate the config file and exit')
  .option('--pid-file <file>', 'write the process ID here at start, remove it on a clean stop')
  .exitOverride();

let opts: { config: string; logFormat?: LogFormat; logLevel?: LogLevel; check?: boolean; pidFile?: string };
try {
  opts = program.parse().opts();
} catch (err) {
  // Commander printed the message; --help and --version end here with code 0.
  process.exit(err instanceof CommanderError && err.exitCode === 0 ? 0 : EXIT_CONFIG);
}

// The pid file is written first (not for --check): a start that fails, even on a bad config file,
// leaves it naming a process that is gone, which `novactl wait --pid-file` reports at once, not at
// its deadline.
if (opts.pidFile !== undefined && opts.check !== true) {
  const held = writePidFile(opts.pidFile);
  if (held !== undefined) {
    process.stderr.write(`novaedge: PID_FILE_HELD: --pid-file = ${opts.pidFile}: process ${held} is running with this pid file; stop it, or use another file\n`);
    process.exit(EXIT_UNAVAILABLE);
  }
}

let cfg: FileConfig;
try {
  cfg = await loadConfigFile(opts.config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  printIssues(opts.config, err);
  process.exit(EXIT_CONFIG);
}
if (opts.check === true) {
  // Everything that needs no network: the key file, the certificate against it and the CAs. Loaded
  // only now (libp2p's crypto takes a while to import); the data directory is never created (a
  // controller's existing one is read for its membership record: check-membership.ts).
  try {
    const { checkFileCredentials } = await import('./novaedge/check-credentials.ts');
    await checkFileCredentials(cfg, Date.now());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printIssues(opts.config, err);
    process.exit(EXIT_CONFIG);
  }
  process.stdout.write(`${opts.config}: valid ${cfg.role} configuration for ${cfg.localMember.name}\n`);
  if (cfg.role === 'controller') {
    const { membershipNotes } = await import('./novaedge/check-membership.ts');
    for (const note of await membershipNotes(cfg)) process.stdout.write(`note: ${note}\n`);
  }
  process.exit(0);
}

const logger: Logger = daemonLogger(opts.logLevel ?? cfg.node.log.level, opts.logFormat ?? cfg.node.log.format);
const log = logger.child({ component: 'daemon' });

let stopping: Promise<never> | undefined;
// Loaded only now: the node (libp2p, LevelDB) takes a while to import, and a bad config or --check
// needs none of it.
// A stop asked while the node still starts (a joining controller waits until a member adds it) ends the start.
const startAbort = new AbortController();
const started: Promise<DaemonNode | undefined> = import('./novaedge/start-node.ts').then((m) => m.startDaemonNode(cfg, logger, { signal: startAbort.signal })).catch((err: unknown) => {
  if (startAbort.signal.aborted) return undefined;
  if (err instanceof ConfigError) {
    printIssues(opts.config, err);
    process.exit(EXIT_CONFIG);
  }
  if (err instanceof StartFailure) {
    process.stderr.write(`novaedge: ${err.message}\n`);
    process.exit(EXIT_UNAVAILABLE);
  }
  log.fatal({ err: err instanceof Error ? { message: err.message, code: (err as { code?: unknown }).code, stack: err.stack } : String(err) }, 'start failed');
  process.exit(EXIT_RUNTIME);
});

/** Stop everything (once), then exit with `code`. */
function shutdown(code: number, why: string): Promise<never> {
  stopping ??= (async () => {
    log.info({ why }, 'stopping');
    setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'clean stop took too long; exiting');
      process.exit(EXIT_RUNTIME);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    startAbort.abort(new Error(`stopping (${why})`));
    const daemon = await started;
    await daemon?.stop();
    if (opts.pidFile !== undefined && code === 0) removePidFile(opts.pidFile);
    log.info({ code }, 'stopped');
    process.exit(code);
  })();
  return stopping;
}

for (const [signal, number] of [['SIGTERM', 15], ['SIGINT', 2]] as const) {
  process.on(signal, () => {
    if (stopping !== undefined) {
      log.warn({ signal }, 'second signal: exiting without a clean stop');
      process.exit(128 + number);
    }
    void shutdown(0, signal);
  });
}
process.on('uncaughtException', (err) => {
  log.fatal({ err: { message: err.message, stack: err.stack } }, 'uncaught exception');
  void shutdown(EXIT_RUNTIME, 'uncaught exception');
});
process.on('unhandledRejection', (reason) => {
  log.fatal({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) }, 'unhandled promise rejection');
  void shutdown(EXIT_RUNTIME, 'unhandled rejection');
});

const daemon = await started;
if (daemon !== undefined && stopping === undefined) {
  log.info(daemon.summary, 'novaedge ready');
}
