#!/usr/bin/env node
// novactl: the NovaEdge federation CLI. Talks JSON-RPC to a node's admin socket (--socket, or
// NOVACTL_SOCKET, default /run/novaedge/admin.sock) and manages keys and certificates locally.
// Exit codes: 0 ok, 1 error from the node or a file, 2 usage, 3 node unreachable. See docs/cli.md.
import { runNovactl } from './novactl/program.ts';

process.exitCode = await runNovactl(process.argv.slice(2), {
  stdout: (s) => { process.stdout.write(s); },
  stderr: (s) => { process.stderr.write(s); },
  stdin: process.stdin,
  nowMs: () => Date.now(),
});
