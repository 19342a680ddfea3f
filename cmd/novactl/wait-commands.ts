// `novactl wait started|formed|stopped [--pid-file FILE]`: block until a node reaches a state, for
// scripts (the README walkthrough is one). The global --timeout is the deadline of the whole wait.
//   started  the node answers on its admin socket
//   formed   a controller sees every other member Healthy and accepts writes; an agent follows a controller
//   stopped  the daemon has exited (--pid-file: its process is gone; else: nothing answers on the socket)
// With --pid-file (the daemon's `novaedge --pid-file`), a daemon that exits while it is awaited is
// reported at once (DAEMON_EXITED), not at the deadline.
import { Argument, type Command } from 'commander';
import { AdminCallError } from '../../node/admin/admin-client.ts';
import type { StatusResult } from '../../node/admin/controller-api.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { processAlive, readPidFile } from '../novaedge/pid-file.ts';
import { ask, cliErrorOf, CliError, EXIT, type CliContext } from './cli-context.ts';
import { formatDuration } from './format-time.ts';
import { agentNotFormed, controllerNotFormed, WAIT_CONDITIONS, type WaitCondition } from './wait-conditions.ts';

/** How often the node is asked again, ms. */
export const WAIT_POLL_MS = 100;
/** Deadline of one call while waiting, ms (the wait's own deadline is --timeout). */
const WAIT_CALL_TIMEOUT_MS = 2_000;

// Why the condition does not hold yet (undefined: it holds), from one look at the node.
async function missing(ctx: CliContext, condition: WaitCondition, timeoutMs: number): Promise<string | undefined> {
  const call = <T>(method: string): Promise<T> => ask<T>(ctx, method, {}, timeoutMs);
  try {
    if (condition === 'stopped') {
      await call('federation.status').catch((err: unknown) => {
        if (err instanceof AdminCallError && err.code === 'METHOD_NOT_FOUND') return undefined; // an agent answers
        throw err;
      });
      return 'the node still answers on its admin socket';
    }
    if (condition === 'started') {
      await call('federation.status').catch((err: unknown) => {
        if (err instanceof AdminCallError && err.code === 'METHOD_NOT_FOUND') return undefined;
        throw err;
      });
      return undefined;
    }
    try {
      return controllerNotFormed(await call<StatusResult>('federation.status'));
    } catch (err) {
      if (!(err instanceof AdminCallError) || err.code !== 'METHOD_NOT_FOUND') throw err;
      return agentNotFormed(await call<AgentStatus>('agent.status'));
    }
  } catch (err) {
    if (!(err instanceof AdminCallError)) throw cliErrorOf(err);
    if (condition === 'stopped' && err.code === 'NO_SERVER') return undefined;
    return `${err.code}: ${err.message}`;
  }
}

/** `wait` command. */
export function addWaitCommands(program: Command, ctx: CliContext): void {
  program.command('wait')
    .description('wait until the node has started, the federation is formed, or the daemon has stopped (deadline: --timeout)')
    .addArgument(new Argument('<condition>', 'started | formed | stopped').choices(WAIT_CONDITIONS))
    .option('--pid-file <file>', "the daemon's --pid-file: report at once when it exits before the condition holds")
    .action(async (condition: WaitCondition, opts: { pidFile?: string }) => {
      const { timeoutMs } = ctx.globals();
      const t0 = performance.now();
      const deadline = t0 + timeoutMs;
      for (;;) {
        const pid = opts.pidFile === undefined ? undefined : readPidFile(opts.pidFile);
        const alive = pid !== undefined && processAlive(pid);
        let why: string | undefined;
        if (condition === 'stopped' && opts.pidFile !== undefined) {
          why = alive ? `process ${pid} is still running` : undefined;
        } else {
          if (pid !== undefined && !alive) {
            throw new CliError('DAEMON_EXITED', `novaedge (pid ${pid}, ${opts.pidFile}) exited before it was ${condition}; its stderr says why`);
          }
          why = await missing(ctx, condition, Math.max(1, Math.min(WAIT_CALL_TIMEOUT_MS, deadline - performance.now())));
        }
        if (why === undefined) {
          ctx.io.stdout(`${condition} after ${formatDuration(performance.now() - t0)}\n`);
          return;
        }
        if (performance.now() >= deadline) {
          throw new CliError('WAIT_TIMEOUT', `not ${condition} after ${formatDuration(timeoutMs)}: ${why}`, EXIT.ERROR);
        }
        await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, Math.max(0, deadline - performance.now()))));
      }
    });
}
