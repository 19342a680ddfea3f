// The novactl command line: global options, every command, and exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ADMIN_CALL_TIMEOUT_MS } from '../../node/admin/admin-client.ts';
import { DEFAULT_ADMIN_SOCKET } from '../../node/admin/default-socket.ts';
import { addAgentCommands } from './agent-commands.ts';
import { EXIT, reportError, type CliContext, type CliIo, type GlobalOptions } from './cli-context.ts';
import { addFederationCommands, addConflictCommands } from './federation-commands.ts';
import { parseDurationMs } from './format-time.ts';
import { addPkiCommands } from './pki-commands.ts';
import { addResourceCommands } from './resource-commands.ts';
import { addWaitCommands } from './wait-commands.ts';

function duration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 500ms, 30s or 2m');
  return ms;
}

/** Build the program writing to `io`. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('novactl')
    .description('Operate a NovaEdge federation node through its admin socket, and manage keys and certificates.')
    .addOption(new Option('--socket <path>', 'admin socket of the node').env('NOVACTL_SOCKET').default(DEFAULT_ADMIN_SOCKET))
    .addOption(new Option('--timeout <duration>', 'deadline of each call to the node').argParser(duration).default(ADMIN_CALL_TIMEOUT_MS, '30s'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  const ctx: CliContext = {
    io,
    globals: () => {
      const o = program.opts<{ socket: string; timeout: number }>();
      return { socket: o.socket, timeoutMs: o.timeout } satisfies GlobalOptions;
    },
  };
  addFederationCommands(program, ctx);
  addConflictCommands(program, ctx);
  addAgentCommands(program, ctx);
  addResourceCommands(program, ctx);
  addPkiCommands(program, ctx);
  addWaitCommands(program, ctx);
  // Subcommands inherit the error handling and output of the program.
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) }).showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/** Run novactl with `args` (without node and script); resolves to the exit code. */
export async function runNovactl(args: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests exit 0; every other parse failure is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(io, err);
  }
}
