// simHostFactory gives a node the Host shape node/ uses, with the real Reconnector on the node's own
// timers and randomness: it parses and dials the /memory bootstrap addresses (skipping its own),
// keeps members connected, and redials a member that crashed and came back.
import t from 'tap';
import { Scheduler } from './scheduler.ts';
import { SimNetwork } from './net/network.ts';
import { simAddress, startSimNodeHost } from './net/sim-node-host.ts';

t.test('the reconnector dials /memory bootstrap addresses, skips its own, and redials a restarted member', async (t) => {
  const s = new Scheduler({ seed: 41 });
  const net = new SimNetwork(s);
  const names = ['a', 'b', 'c'];
  const addrs = await Promise.all(names.map((n) => simAddress(s, n)));
  const hosts = Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await startSimNodeHost(s, net, n, addrs)).host] as const)));
  const connected = (x: string, y: string): boolean => hosts[x]!.libp2p.getConnections(hosts[y]!.libp2p.peerId).some((c) => c.status === 'open');
  const allConnected = (): boolean => names.every((x) => names.every((y) => x === y || connected(x, y)));
  await s.runUntilTrue('full mesh', allConnected, 5_000);
  t.same(hosts.a!.reconnector.status().map((st) => [st.addr, st.connected]), [[addrs[1], true], [addrs[2], true]], 'a\'s own address is not a target');
  t.equal(hosts.a!.libp2p.getMultiaddrs()[0]?.toString(), addrs[0]);

  net.crash('c', { peersSee: 'reset' });
  await s.runUntilTrue('c gone', () => !connected('a', 'c') && !connected('b', 'c'), 1_000);
  hosts.c = (await startSimNodeHost(s, net, 'c', addrs)).host;
  const healed = await s.runUntilTrue('c back', allConnected, 10_000);
  t.ok(healed <= 2_000, `reconnected within the backoff (${healed} virtual ms)`);
  t.ok(hosts.a!.reconnector.status().find((x) => x.addr === addrs[2])!.connected, 'a\'s reconnector sees c connected again');
});
