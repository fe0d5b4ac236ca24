/**
 * A small model of one hypervisor's Open vSwitch for unit and fault tests: its OVSDB bridges
 * and ports (owner marks, OpenFlow numbers, GRE remotes, patch peers), the static rules VPM
 * keeps on the physical bridge, and OVS's tunnel neighbour cache. `answerOvs` answers the
 * commands the OvsBridge and GreTunnel providers send — single commands and the steps of
 * their batches alike (RecordingRunner answers a batch step by step) — as OVS 3.1 prints them
 * (the guard formats are the ones ovs/vsctl.ts documents). Unknown commands give undefined,
 * so a test decides what to do with them.
 */
import type { ScriptedResponse } from '../../providers/exec/recording';

export interface ModelPort {
  bridge: string;
  owner?: string;
  ofport?: number;
  type?: string;
  remoteIp?: string;
  peer?: string;
}

export interface ModelHost {
  bridges: Map<string, { owner?: string }>;
  ports: Map<string, ModelPort>;
  /** Rules on foreign bridges: bridge, cookie (0x..), in_port and output numbers. */
  rules: Array<{ bridge: string; cookie: string; inPort: number; outPort: number }>;
  /** `${ip} ${bridge}` -> MAC */
  cache: Map<string, string>;
  /** The underlay bridge's mac_in_use. */
  mac: string;
}

export function modelHost(over: Partial<ModelHost> = {}): ModelHost {
  return {
    bridges: new Map([['br0', {}]]),
    ports: new Map([['eth0', { bridge: 'br0', ofport: 1 }]]),
    rules: [],
    cache: new Map(),
    mac: '02:56:50:00:00:01',
    ...over,
  };
}

/** `"a \"b\""` -> `a "b"` (an OVSDB string as vsctl takes it). */
const unquote = (s: string): string => (s.startsWith('"') ? JSON.parse(s) : s);

/** The `--` separated commands of an ovs-vsctl argv, and its global options. */
function commandsOf(argv: readonly string[]): { global: string[]; cmds: string[][] } {
  const parts: string[][] = [[]];
  for (const a of argv.slice(1)) {
    if (a === '--') parts.push([]);
    else parts[parts.length - 1].push(a);
  }
  // Without a leading `--`, the first command follows the global options directly.
  const first = parts[0].findIndex((w) => !w.startsWith('--'));
  const global = first < 0 ? parts[0] : parts[0].slice(0, first);
  const cmds = [...(first < 0 ? [] : [parts[0].slice(first)]), ...parts.slice(1)];
  return { global, cmds: cmds.filter((c) => c.length > 0) };
}

const words = (c: string[]) => c.filter((w) => !w.startsWith('--'));
const option = (c: string[], name: string) => c.find((w) => w.startsWith(`--${name}=`))?.slice(name.length + 3);

function nextOfport(h: ModelHost, bridge: string): number {
  const used = new Set([...h.ports.values()].filter((p) => p.bridge === bridge).map((p) => p.ofport));
  let n = 1;
  while (used.has(n)) n++;
  return n;
}

function vsctl(h: ModelHost, argv: readonly string[]): ScriptedResponse {
  const { global, cmds } = commandsOf(argv);
  const json = global.includes('--format=json');
  const outputs: string[] = [];
  let tableOutputs = 0;
  const table = (text: string) => {
    // Consecutive table outputs (list, find) are separated by one newline (ovs-vsctl 3.1).
    outputs.push((tableOutputs++ > 0 && !json ? '\n' : '') + text);
  };
  for (const c of cmds) {
    const [verb, ...args] = words(c);
    switch (verb) {
      case 'br-exists':
        if (!h.bridges.has(args[0])) return { exitCode: 2, stdout: outputs.join('') };
        break;
      case 'port-to-br': {
        const p = h.ports.get(args[0]);
        if (!p) return { exitCode: 1, stderr: `ovs-vsctl: no port named ${args[0]}\n` };
        outputs.push(`${p.bridge}\n`);
        break;
      }
      case 'find': {
        const [tbl, ...conds] = args;
        if (tbl === 'Interface' && conds.length === 1 && conds[0] === 'options:remote_ip!=""') {
          const names = [...h.ports].filter(([, p]) => p.remoteIp !== undefined).map(([n]) => `${n}\n`);
          table(names.join('\n'));
          break;
        }
        const name = conds.find((x) => x.startsWith('name='))!.slice(5);
        const owned = conds.find((x) => x.startsWith('external_ids{>=}'));
        const wantOfport = conds.includes('ofport>0');
        let hit: boolean;
        if (tbl === 'Bridge') hit = h.bridges.has(name);
        else hit = h.ports.has(name) || (tbl === 'Interface' && h.bridges.has(name));
        const ownerOf = tbl === 'Bridge' ? h.bridges.get(name)?.owner : h.ports.get(name)?.owner;
        if (hit && owned) {
          const m = /^external_ids\{>=\}\{"vpm-owner"=(".*")\}$/.exec(owned)!;
          hit = ownerOf === unquote(m[1]);
        }
        // {not-in}: the row's map lacks the pair (no mark, or another owner's).
        const lacking = conds.find((x) => x.startsWith('external_ids{not-in}'));
        if (hit && lacking) {
          const m = /^external_ids\{not-in\}\{"vpm-owner"=(".*")\}$/.exec(lacking)!;
          hit = ownerOf !== unquote(m[1]);
        }
        if (hit && wantOfport) hit = (h.ports.get(name)?.ofport ?? -1) > 0;
        table(hit ? `${name}\n` : '');
        break;
      }
      case 'list': {
        const [tbl, rec] = args;
        const cols = (option(c, 'columns') ?? '').split(',');
        table(JSON.stringify({ data: listRows(h, tbl, rec).map((r) => cols.map((k) => r[k])), headings: cols }) + '\n');
        break;
      }
      case 'get': {
        const [, rec, col] = args;
        if (col !== 'mac_in_use') return { exitCode: 1, stderr: `model: get ${col}` };
        if (!h.bridges.has(rec) && !h.ports.has(rec)) return { exitCode: 1, stderr: `ovs-vsctl: no row "${rec}" in table Interface\n` };
        outputs.push(`"${h.mac}"\n`);
        break;
      }
      case 'add-br':
        if (!h.bridges.has(args[0])) h.bridges.set(args[0], {});
        break;
      case 'add-port': {
        const [br, port] = args;
        const existing = h.ports.get(port);
        if (!existing) h.ports.set(port, { bridge: br });
        else existing.bridge = br;
        break;
      }
      case 'set': {
        const [tbl, rec, ...settings] = args;
        for (const s of settings) {
          const owner = /^external_ids:"vpm-owner"=(".*")$/.exec(s);
          if (owner && tbl === 'Bridge') h.bridges.get(rec)!.owner = unquote(owner[1]);
          if (owner && tbl === 'Port') h.ports.get(rec)!.owner = unquote(owner[1]);
          const p = h.ports.get(rec);
          if (tbl !== 'Interface' || !p) continue;
          if (s.startsWith('type=')) p.type = s.slice(5);
          const remote = /"remote_ip"="([^"]+)"/.exec(s);
          if (remote) p.remoteIp = remote[1];
          const peer = /"peer"="([^"]+)"/.exec(s);
          if (peer) p.peer = peer[1];
          if (s.startsWith('ofport_request=')) p.ofport = Number(s.slice(15));
        }
        const p = h.ports.get(rec);
        if (tbl === 'Interface' && p && p.ofport === undefined) p.ofport = nextOfport(h, p.bridge);
        break;
      }
      case 'del-br':
        h.bridges.delete(args[0]);
        for (const [n, p] of h.ports) if (p.bridge === args[0]) h.ports.delete(n);
        break;
      case 'del-port':
        h.ports.delete(args[args.length - 1]);
        break;
      default:
        return { exitCode: 1, stderr: `model: unknown ovs-vsctl command ${verb}` };
    }
  }
  return { stdout: outputs.join('') };
}

const uuid = (n: string) => ['uuid', `00000000-0000-0000-0000-${Buffer.from(n).toString('hex').padStart(12, '0').slice(-12)}`];
const map = (o: Record<string, string | undefined>) => ['map', Object.entries(o).filter(([, v]) => v !== undefined)];

function listRows(h: ModelHost, tbl: string, rec?: string): Array<Record<string, unknown>> {
  if (tbl === 'Bridge') {
    const names = rec ? (h.bridges.has(rec) ? [rec] : []) : [...h.bridges.keys()];
    return names.map((n) => ({
      _uuid: uuid(`b-${n}`),
      name: n,
      datapath_id: '0000aabbccddeeff',
      datapath_type: 'netdev',
      fail_mode: 'secure',
      protocols: ['set', ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']],
      external_ids: map({ 'vpm-owner': h.bridges.get(n)!.owner }),
      other_config: map({}),
      ports: ['set', [...h.ports].filter(([, p]) => p.bridge === n).map(([pn]) => uuid(`p-${pn}`))],
    }));
  }
  const names = rec ? (h.ports.has(rec) ? [rec] : []) : [...h.ports.keys()];
  return names.map((n) => {
    const p = h.ports.get(n)!;
    const common = { name: n, external_ids: map({ 'vpm-owner': p.owner }) };
    if (tbl === 'Port') return { ...common, _uuid: uuid(`p-${n}`) };
    return {
      ...common,
      _uuid: uuid(`i-${n}`),
      external_ids: map({}),
      type: p.type ?? '',
      options: map({ remote_ip: p.remoteIp, peer: p.peer }),
      ofport: p.ofport ?? ['set', []],
      ofport_request: ['set', []],
      bfd: map({}),
      bfd_status: map({}),
      error: ['set', []],
    };
  });
}

/** The number of a port named in a flow (`"patch-phy"` or `3`). */
function portNumber(h: ModelHost, bridge: string, text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const p = h.ports.get(unquote(text));
  return p && p.bridge === bridge ? p.ofport : undefined;
}

function ofctl(h: ModelHost, argv: readonly string[]): ScriptedResponse {
  const a = argv.filter((w) => w !== '--no-names' && w !== '--no-stats');
  const strict = a.includes('--strict');
  const [verb, bridge, spec] = a.filter((w) => w !== '--strict').slice(1);
  if (!h.bridges.has(bridge)) return { exitCode: 1, stderr: `ovs-ofctl: ${bridge} is not a bridge or a socket\n` };
  const field = (k: string) => (spec === undefined ? undefined : new RegExp(`(?:^|,)${k}=([^,]+)`).exec(spec)?.[1]);
  // No cookie (a whole dump): every rule of the bridge.
  const cookie = field('cookie')?.replace(/\/-1$/, '');
  switch (verb) {
    case 'add-flow': {
      const inPort = portNumber(h, bridge, field('in_port')!);
      const outPort = portNumber(h, bridge, /actions=output:(.+)$/.exec(spec)![1]);
      if (inPort === undefined || outPort === undefined) return { exitCode: 1, stderr: `ovs-ofctl: ${spec}: unknown port\n` };
      h.rules = h.rules.filter((r) => !(r.bridge === bridge && r.inPort === inPort));
      if (cookie === undefined) return { exitCode: 1, stderr: 'model: add-flow without a cookie' };
      h.rules.push({ bridge, cookie, inPort, outPort });
      return {};
    }
    case 'dump-flows':
      return {
        stdout: h.rules
          .filter((r) => r.bridge === bridge && (cookie === undefined || r.cookie === cookie))
          .map((r) => ` cookie=${r.cookie}, priority=1000,in_port=${r.inPort} actions=output:${r.outPort}\n`)
          .join(''),
      };
    case 'del-flows': {
      const inPort = strict ? Number(field('in_port')) : undefined;
      h.rules = h.rules.filter((r) => !(r.bridge === bridge && r.cookie === cookie && (inPort === undefined || r.inPort === inPort)));
      return {};
    }
    default:
      return { exitCode: 1, stderr: `model: unknown ovs-ofctl command ${verb}` };
  }
}

function appctl(h: ModelHost, argv: readonly string[]): ScriptedResponse {
  switch (argv[1]) {
    case 'tnl/neigh/set':
      h.cache.set(`${argv[3]} ${argv[2]}`, argv[4]);
      return { stdout: 'OK\n' };
    case 'tnl/neigh/show': {
      const rows = [...h.cache].map(([k, m]) => `${k.split(' ')[0].padEnd(46)}${m}   ${k.split(' ')[1]}`);
      return { stdout: ['IP   MAC   Bridge', '='.repeat(74), ...rows, ''].join('\n') };
    }
    case 'tnl/neigh/flush':
      h.cache.clear();
      return { stdout: 'Neighbor cache flushed\n' };
    default:
      return { exitCode: 1, stderr: `model: unknown ovs-appctl command ${argv[1]}` };
  }
}

/** The model's answer to an OVS command, or undefined for anything else. */
export function answerOvs(h: ModelHost, argv: readonly string[]): ScriptedResponse | undefined {
  if (argv[0] === 'ovs-vsctl') return vsctl(h, argv);
  if (argv[0] === 'ovs-ofctl') return ofctl(h, argv);
  if (argv[0] === 'ovs-appctl') return appctl(h, argv);
  return undefined;
}
