// A small network of Linux network namespaces for fault tests and benchmarks: one namespace per
// member, each with one address on a bridge that lives in a namespace of its own, so nothing touches
// the host's network. Faults are iptables rules inside the members' namespaces, all of them silent
// (DROP on input: the sender sees no error, no reset, only lost packets):
//  - dropBetween(a, b): every packet between a and b, existing connections and new dials alike;
//  - isolate(a, [b, c]): the same between a and each of the others, a's side in one step;
//  - blackholeConnections(a, b): only the TCP connections a and b hold right now; new ones pass,
//    which makes those connections half-open (open at both ends, every byte lost).
// Needs root, `ip` (iproute2), `ss` and `iptables`; labUnavailable() says why not, for a clear skip.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One member's place in the lab. */
export interface LabHost {
  /** Its network namespace. */
  ns: string;
  /** Its IPv4 address. */
  ip: string;
}

/** An established TCP connection as seen from one side. */
export interface TcpTuple {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

/** Why the lab cannot be built here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  for (const tool of ['ip', 'ss', 'iptables']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool} (apt-get install -y iproute2 iptables)`;
  }
  return undefined;
}

const SUBNET = '10.77.0';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A lab of namespaces; `destroy()` removes everything it made. */
export class NetLab {
  readonly hosts: ReadonlyMap<string, LabHost>;
  readonly #hub: string;
  readonly #rules: Array<{ ns: string; rule: string[] }> = [];
  #destroyed = false;

  private constructor(hub: string, hosts: Map<string, LabHost>) {
    this.#hub = hub;
    this.hosts = hosts;
  }

  /** Build a namespace per name on one bridge (tag: a few characters unique to this run). */
  static create(names: string[], tag = (process.pid % 46_656).toString(36)): NetLab {
    const hub = `nvl${tag}-hub`;
    const hosts = new Map<string, LabHost>();
    const lab = new NetLab(hub, hosts);
    try {
      run('ip', ['netns', 'add', hub]);
      run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
      names.forEach((name, i) => {
        const ns = `nvl${tag}-${i}`;
        const ip = `${SUBNET}.${i + 1}`;
        run('ip', ['netns', 'add', ns]);
        hosts.set(name, { ns, ip });
        const hubSide = `v${i}`;
        run('ip', ['-n', hub, 'link', 'add', hubSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        run('ip', ['-n', hub, 'link', 'set', hubSide, 'master', 'br0']);
        run('ip', ['-n', hub, 'link', 'set', hubSide, 'up']);
        run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
        run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      });
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** The host of `name`. */
  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Silently drop every packet between `a` and `b`, both ways (existing connections and new dials). */
  dropBetween(a: string, b: string): void {
    const [ha, hb] = [this.host(a), this.host(b)];
    this.#insert(ha.ns, ['INPUT', '-s', hb.ip, '-j', 'DROP']);
    this.#insert(hb.ns, ['INPUT', '-s', ha.ip, '-j', 'DROP']);
  }

  /** Undo dropBetween(a, b). */
  allowBetween(a: string, b: string): void {
    const [ha, hb] = [this.host(a), this.host(b)];
    this.#remove(ha.ns, ['INPUT', '-s', hb.ip, '-j', 'DROP']);
    this.#remove(hb.ns, ['INPUT', '-s', ha.ip, '-j', 'DROP']);
  }

  /**
   * Cut `name` off from `others` silently, without blocking the event loop: first everything `name`
   * receives from them (one rule: it goes deaf to all of them at once), then what they receive from
   * it. Resolves to the performance.now() span of that first command: the cut took effect within it
   * (iptables commits its rule at the end), and `name` has heard nothing from the others since.
   */
  async isolate(name: string, others: string[]): Promise<{ startMs: number; endMs: number }> {
    const h = this.host(name);
    const startMs = performance.now();
    await this.#insertAsync(h.ns, ['INPUT', '-s', others.map((o) => this.host(o).ip).join(','), '-j', 'DROP']);
    const endMs = performance.now();
    await Promise.all(others.map((o) => this.#insertAsync(this.host(o).ns, ['INPUT', '-s', h.ip, '-j', 'DROP'])));
    return { startMs, endMs };
  }

  /** Undo isolate(name, others); resolves to performance.now() once every rule is gone. */
  async rejoin(name: string, others: string[]): Promise<number> {
    const h = this.host(name);
    const rules: Array<[string, string[]]> = [
      ...others.map((o): [string, string[]] => [this.host(o).ns, ['INPUT', '-s', h.ip, '-j', 'DROP']]),
      [h.ns, ['INPUT', '-s', others.map((o) => this.host(o).ip).join(','), '-j', 'DROP']],
    ];
    await Promise.all(rules.map(([ns, rule]) => {
      const i = this.#rules.findIndex((r) => r.ns === ns && r.rule.join(' ') === rule.join(' '));
      if (i !== -1) this.#rules.splice(i, 1);
      return execFileAsync('ip', ['netns', 'exec', ns, 'iptables', '-D', ...rule]);
    }));
    return performance.now();
  }

  /** Established TCP connections between `a` and `b`, from a's side. */
  connections(a: string, b: string): TcpTuple[] {
    const [ha, hb] = [this.host(a), this.host(b)];
    const out: TcpTuple[] = [];
    for (const line of run('ip', ['netns', 'exec', ha.ns, 'ss', '-tnH', 'state', 'established']).split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const [local, remote] = cols.slice(-2) as [string, string];
      const [localIp, localPort] = splitHostPort(local);
      const [remoteIp, remotePort] = splitHostPort(remote);
      if (localIp === ha.ip && remoteIp === hb.ip) out.push({ localIp, localPort, remoteIp, remotePort });
    }
    return out;
  }

  /** Silently drop the TCP connections between `a` and `b` that exist now; returns them. */
  blackholeConnections(a: string, b: string): TcpTuple[] {
    const [ha, hb] = [this.host(a), this.host(b)];
    const tuples = this.connections(a, b);
    for (const c of tuples) {
      this.#insert(ha.ns, ['INPUT', '-p', 'tcp', '-s', hb.ip, '--sport', String(c.remotePort), '--dport', String(c.localPort), '-j', 'DROP']);
      this.#insert(hb.ns, ['INPUT', '-p', 'tcp', '-s', ha.ip, '--sport', String(c.localPort), '--dport', String(c.remotePort), '-j', 'DROP']);
    }
    return tuples;
  }

  /** Remove every rule added so far. */
  clearRules(): void {
    for (const { ns, rule } of this.#rules.splice(0).reverse()) {
      spawnSync('ip', ['netns', 'exec', ns, 'iptables', '-D', ...rule]);
    }
  }

  /** Remove the namespaces (and with them links and rules). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const h of this.hosts.values()) spawnSync('ip', ['netns', 'del', h.ns]);
    spawnSync('ip', ['netns', 'del', this.#hub]);
  }

  async #insertAsync(ns: string, rule: string[]): Promise<void> {
    await execFileAsync('ip', ['netns', 'exec', ns, 'iptables', '-I', ...rule]);
    this.#rules.push({ ns, rule });
  }

  #insert(ns: string, rule: string[]): void {
    run('ip', ['netns', 'exec', ns, 'iptables', '-I', ...rule]);
    this.#rules.push({ ns, rule });
  }

  #remove(ns: string, rule: string[]): void {
    const i = this.#rules.findIndex((r) => r.ns === ns && r.rule.join(' ') === rule.join(' '));
    if (i === -1) return;
    this.#rules.splice(i, 1);
    run('ip', ['netns', 'exec', ns, 'iptables', '-D', ...rule]);
  }
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i).replace(/^\[|\]$/g, '').replace(/^::ffff:/, ''), Number(s.slice(i + 1))];
}
