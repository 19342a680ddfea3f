// The novactl command line: global options, every command, and exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ADMIN_CALL_TIMEOUT_MS } from '../../node/admin/admin-client.ts';
import { DEFAULT_ADMIN_SOCKET } from '../../node/admin/default-socket.ts';
import { addAgentCommands } from './agent-commands.ts';
import { closeRemote, CliError, EXIT, reportError, type CliContext, type CliIo, type GlobalOptions, type RemoteOptions } from './cli-context.ts';
import { addFederationCommands, addConflictCommands } from './federation-commands.ts';
import { parseDurationMs } from './format-time.ts';
import { addPkiCommands } from './pki-commands.ts';
import { addResourceCommands } from './resource-commands.ts';
import { addWaitCommands } from './wait-commands.ts';

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

// --endpoint and what goes with it: all of --identity, --cert and --ca-file, or a usage error.
function remoteOf(o: { endpoint?: string[]; identity?: string; cert?: string; caFile?: string[] }): { remote?: RemoteOptions } {
  if (o.endpoint === undefined || o.endpoint.length === 0) return {};
  const missing = [o.identity === undefined ? '--identity (NOVACTL_IDENTITY)' : '', o.cert === undefined ? '--cert (NOVACTL_CERT)' : '',
    o.caFile === undefined || o.caFile.length === 0 ? '--ca-file (NOVACTL_CA_FILES)' : ''].filter((m) => m !== '');
  if (missing.length > 0) throw new CliError('USAGE', `--endpoint also needs ${missing.join(', ')}`, EXIT.USAGE);
  return { remote: { endpoints: o.endpoint, identityKeyFile: o.identity!, certificateFile: o.cert!, caFiles: o.caFile! } };
}

// commander takes a program option wherever it appears, before or after the subcommand. A subcommand
// may define an option with the flag of a global one (`federation members add --endpoint`: the new
// controller's address, where the global --endpoint is a remote novactl's controllers): given after
// that subcommand's name, it is the subcommand's, and the program leaves it (and its values) to it.
class NovactlProgram extends Command {
  override parseOptions(args: string[]): ReturnType<Command['parseOptions']> {
    const own = (cmd: Command, arg: string): Option | undefined => {
      const flag = arg.startsWith('--') ? arg.split('=')[0] : arg;
      return cmd.options.find((o) => o.long === flag || o.short === flag);
    };
    const kept: string[] = [];
    const claimed: string[] = [];
    let leaf: Command = this;
    let descending = true;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === '--') { kept.push(...args.slice(i)); break; }
      if (!arg.startsWith('-') || arg.length === 1) {
        const sub = descending ? leaf.commands.find((c) => c.name() === arg || c.aliases().includes(arg)) : undefined;
        if (sub === undefined) descending = false;
        else leaf = sub;
        kept.push(arg);
        continue;
      }
      const mine = leaf === this ? undefined : own(leaf, arg);
      const global = own(this, arg);
      // Its values: one for an option taking a value (unless given as --flag=value), every following
      // non-option for a variadic one.
      let end = i + 1;
      const opt = mine ?? global;
      if (opt !== undefined && (opt.required || opt.optional) && !arg.includes('=')) {
        while (end < args.length && !args[end]!.startsWith('-') && (opt.variadic || end === i + 1)) end++;
      }
      (mine !== undefined && global !== undefined ? claimed : kept).push(...args.slice(i, end));
      i = end - 1;
    }
    const parsed = super.parseOptions(kept);
    return { operands: parsed.operands, unknown: [...parsed.unknown, ...claimed] };
  }
}

function duration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 500ms, 30s or 2m');
  return ms;
}

/** Build the program writing to `io`. */
export function buildProgram(io: CliIo): Command {
  return build(io).program;
}

function build(io: CliIo): { program: Command; ctx: CliContext } {
  const program = new NovactlProgram('novactl')
    .description('Operate a NovaEdge federation node through its admin socket (or remotely, with --endpoint and an operator or viewer certificate), and manage keys and certificates.')
    .addOption(new Option('--socket <path>', 'admin socket of the node').env('NOVACTL_SOCKET').default(DEFAULT_ADMIN_SOCKET))
    .addOption(new Option('--endpoint <addrs>', 'remote: controllers to use instead of the socket, comma-separated multiaddrs or host:port, in order of preference').env('NOVACTL_ENDPOINTS').argParser(list))
    .addOption(new Option('--identity <file>', 'remote: this client\'s identity key file (novactl keygen)').env('NOVACTL_IDENTITY'))
    .addOption(new Option('--cert <file>', 'remote: this client\'s certificate (novactl ca issue --role operator|viewer)').env('NOVACTL_CERT'))
    .addOption(new Option('--ca-file <files>', 'remote: CA public key files trusted for the controllers, comma-separated').env('NOVACTL_CA_FILES').argParser(list))
    .addOption(new Option('--timeout <duration>', 'deadline of each call to the node').argParser(duration).default(ADMIN_CALL_TIMEOUT_MS, '30s'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  const ctx: CliContext = {
    io,
    globals: () => {
      const o = program.opts<{ socket: string; timeout: number; endpoint?: string[]; identity?: string; cert?: string; caFile?: string[] }>();
      return { socket: o.socket, timeoutMs: o.timeout, ...remoteOf(o) } satisfies GlobalOptions;
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
  return { program, ctx };
}

/** Run novactl with `args` (without node and script); resolves to the exit code. */
export async function runNovactl(args: readonly string[], io: CliIo): Promise<number> {
  const { program, ctx } = build(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests exit 0; every other parse failure is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(io, err);
  } finally {
    await closeRemote(ctx);
  }
}
