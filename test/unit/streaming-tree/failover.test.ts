/**
 * Failover from the StreamingTree plan down to the switches, without a host:
 *   - planTree: tunnels for redundancy links, port numbers stable when a node fails, backup
 *     exits and routes (backupPath from the hop before the relay, cut at the join), single
 *     points of failure with their reason, one backup exit per shared segment;
 *   - the FlowPath provider run as the engine runs it (check, create, update) against
 *     simulated switches: every bundle is applied to an in-memory switch (plan.ts applyOps),
 *     and after EVERY bundle a packet of the stream is walked through the switches (groups,
 *     fast-failover liveness = the neighbour is alive, tags, tunnels) and must reach each
 *     receiver exactly once: no loss and no clone at any moment of an update, with a relay
 *     dead or alive.
 */
import { join } from 'node:path';
import { loadTopologyFile, parseTopology, type Topology } from '../../../components/topology';
import { flowPathArgs } from '../../../components/streaming-tree/flow-path-args';
import { planTree, type HostFacts, type TreePlan } from '../../../components/streaming-tree/plan';
import { PATCH_OFPORT, SOURCE_OFPORT } from '../../../components/streaming-tree/ports';
import * as pool from '../../../providers/exec/pool';
import * as appctl from '../../../providers/ovs/appctl';
import * as ofctl from '../../../providers/ovs/ofctl';
import { applyOps, type SwitchState } from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { FlowPathInputs, FlowPathOutputs } from '../../../providers/flow-path/types';

const TOPOLOGIES = join(__dirname, '../../../stacks/topologies');
const HOSTS: Record<string, HostFacts> = Object.fromEntries(
  [1, 2, 3, 4, 5, 6].map((k) => [`h${k}`, { underlayIp: `10.250.0.${10 + k}`, underlayMac: `02:56:50:00:00:0${k}` }]),
);
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
/** Host hK is reached at 192.0.2.K (never contacted: the switches are simulated). */
const conn = (host: string) => ({ host: `192.0.2.${host.slice(1)}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const hostOfAddress = (addr: string) => `h${addr.split('.')[3]}`;

const failover = () => loadTopologyFile(join(TOPOLOGIES, 'failover.yaml'));
const withFailed = (t: Topology, failed: string[]) => parseTopology({ ...t, nodes: t.nodes.map((n) => ({ ...n, failed: failed.includes(n.id) })) });
const receiverMac = (ip: string) => `02:56:52:00:00:${ip.split('.')[3].slice(-2).padStart(2, '0')}`;

describe('planTree: failover', () => {
  const plan = planTree(failover(), HOSTS);

  it('failover.yaml: tree h1-h2, h1-h3, h2-h4; h3-h4 is the redundancy link, a tunnel too', () => {
    expect(plan.tree).toEqual([
      { a: 'h1', b: 'h2' },
      { a: 'h1', b: 'h3' },
      { a: 'h2', b: 'h4' },
    ]);
    expect(plan.redundancy).toEqual([{ a: 'h3', b: 'h4' }]);
    expect(plan.tunnels.map((t) => t.name)).toEqual(['h1-h2', 'h1-h3', 'h2-h4']);
    expect(plan.redundancyTunnels.map((t) => t.name)).toEqual(['h3-h4']);
  });

  it('the path h1 -> h2 -> h4: h1 exits through the backup toward h3; the route h3 (transit), h4 (join)', () => {
    const p = plan.paths[0];
    const port = (node: string, peer: string) => [...plan.tunnels, ...plan.redundancyTunnels].flatMap((t) => [[t.a, t.b], [t.b, t.a]]).find(([x, y]) => x.node === node && y.node === peer)![0].ofport;
    expect(p.nodes).toEqual(['h1', 'h2', 'h4']);
    expect(p.backups).toEqual([{ relay: 'h2', route: ['h1', 'h3', 'h4'] }]);
    expect(p.hops[0]).toMatchObject({ node: 'h1', inPort: SOURCE_OFPORT, outPort: port('h1', 'h2'), backup: { outPort: port('h1', 'h3') } });
    expect(p.hops[0].neighbours.map((n) => n.ip)).toEqual([HOSTS.h2.underlayIp, HOSTS.h3.underlayIp]);
    expect(p.hops[1].backup).toBeUndefined();
    expect(p.backupHops).toEqual([
      { from: 0, node: 'h3', host: 'h3', inPort: port('h3', 'h1'), outPort: port('h3', 'h4'), neighbours: [{ ip: HOSTS.h4.underlayIp, mac: HOSTS.h4.underlayMac }] },
      { from: 0, node: 'h4', host: 'h4', inPort: port('h4', 'h3'), neighbours: [] },
    ]);
    expect(plan.singlePointsOfFailure).toEqual([]);
  });

  it('h2 failed: the tree goes through h3; its bridge and tunnels stay, with the same port numbers', () => {
    const failed = planTree(withFailed(failover(), ['h2']), HOSTS);
    expect(failed.paths[0].nodes).toEqual(['h1', 'h3', 'h4']);
    expect(failed.tunnels.map((t) => t.name)).toEqual(['h1-h3', 'h3-h4']);
    expect(failed.redundancyTunnels.map((t) => t.name)).toEqual(['h1-h2', 'h2-h4']);
    const all = (p: TreePlan) => [...p.tunnels, ...p.redundancyTunnels].sort((x, y) => x.name.localeCompare(y.name));
    expect(all(failed)).toEqual(all(plan));
    expect(failed.bridges).toEqual(plan.bridges);
    expect(failed.singlePointsOfFailure).toEqual([{ path: 'h4-5004@h4', relay: 'h3', reason: 'no route from h1 to the leaf h4 avoids h3; add a redundancy link around h3' }]);
  });

  it('without the redundancy link, h2 is a single point of failure and the path has no failover parts', () => {
    const t = failover();
    const plan2 = planTree(parseTopology({ ...t, links: t.links.filter((l) => !(l.a === 'h3' && l.b === 'h4')) }), HOSTS);
    expect(plan2.singlePointsOfFailure).toEqual([{ path: 'h4-5004@h4', relay: 'h2', reason: 'no route from h1 to the leaf h4 avoids h2; add a redundancy link around h2' }]);
    expect(plan2.paths[0].hops.some((h) => h.backup)).toBe(false);
    expect(plan2.paths[0].backupHops).toEqual([]);
  });

  it('lab.yaml: the relay h2 has no way around it (h1 has one link): reported', () => {
    const lab = planTree(loadTopologyFile(join(TOPOLOGIES, 'lab.yaml')), HOSTS);
    expect(lab.singlePointsOfFailure.map((s) => [s.path, s.relay])).toEqual([['h3-5004@h3', 'h2']]);
    expect(lab.redundancyTunnels.map((t) => t.name)).toEqual(['h3-h4']);
  });

  it('paper.yaml: the route around x leaves the root toward l1 and joins at l2; l1 path has no relay', () => {
    const paper = planTree(loadTopologyFile(join(TOPOLOGIES, 'paper.yaml')), HOSTS);
    expect(paper.paths.map((p) => [p.name, p.backups])).toEqual([
      ['l1-5004@l1', []],
      ['l2-5004@l2', [{ relay: 'x', route: ['root', 'l1', 'l2'] }]],
    ]);
    expect(paper.redundancyTunnels.map((t) => t.name)).toEqual(['l1-x', 'l1-l2']);
    expect(paper.singlePointsOfFailure).toEqual([]);
  });

  it('a route cut at the first node of the path after the relay (the join), not at the leaf', () => {
    // h1 root - h2 relay - h3 relay - h4 leaf; h1-h5-h3 goes around h2 and rejoins at h3.
    const t = parseTopology({
      nodes: [
        { id: 'h1', role: 'root', host: 'h1' },
        { id: 'h2', role: 'relay', host: 'h2' },
        { id: 'h3', role: 'relay', host: 'h3' },
        { id: 'h4', role: 'leaf', host: 'h4' },
        { id: 'h5', role: 'relay', host: 'h5' },
      ],
      links: [
        { a: 'h1', b: 'h2' },
        { a: 'h2', b: 'h3' },
        { a: 'h3', b: 'h4' },
        { a: 'h1', b: 'h5' },
        { a: 'h5', b: 'h3' },
      ],
      paths: [{ leaf: 'h4', receiver: { ip: '10.250.0.201', mac: '02:56:52:00:00:01' }, stream: { udpPort: 5004 } }],
    });
    const p = planTree(t, HOSTS);
    // Kruskal: h1-h2, h1-h5 (weight 1), then h2-h3 (2) ...; h5-h3 closes the cycle.
    expect(p.paths[0].nodes).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(p.paths[0].backups).toEqual([{ relay: 'h2', route: ['h1', 'h5', 'h3'] }]);
    expect(p.singlePointsOfFailure.map((s) => s.relay)).toEqual(['h3']);
  });

  it('two paths of one stream through the same relay share one backup exit (else the stream would go out twice)', () => {
    const p = planTree(twoLeaves(), HOSTS);
    const [a, b] = p.paths;
    expect(a.nodes).toEqual(['h1', 'h2', 'h4']);
    expect(b.nodes).toEqual(['h1', 'h2', 'h5']);
    expect(a.hops[0].backup).toEqual(b.hops[0].backup);
    expect(a.backups[0].route[1]).toBe(b.backups[0].route[1]);
  });
});

/** h1 root; h2 relay with leaves h4 and h5 behind it; h3 a spare relay linked to h1, h4 and h5. */
function twoLeaves(): Topology {
  return parseTopology({
    nodes: [
      { id: 'h1', role: 'root', host: 'h1' },
      { id: 'h2', role: 'relay', host: 'h2' },
      { id: 'h3', role: 'relay', host: 'h3' },
      { id: 'h4', role: 'leaf', host: 'h4' },
      { id: 'h5', role: 'leaf', host: 'h5' },
    ],
    links: [
      { a: 'h1', b: 'h2' },
      { a: 'h2', b: 'h4' },
      { a: 'h2', b: 'h5' },
      { a: 'h1', b: 'h3' },
      { a: 'h3', b: 'h4' },
      { a: 'h3', b: 'h5' },
    ],
    paths: [
      { leaf: 'h4', receiver: { ip: '10.250.0.201', mac: '02:56:52:00:00:01' }, stream: { udpPort: 5004 } },
      { leaf: 'h5', receiver: { ip: '10.250.0.202', mac: '02:56:52:00:00:02' }, stream: { udpPort: 5004 } },
    ],
  });
}

// ---------------------------------------------------------------- simulated switches

class Fabric {
  readonly switches = new Map<string, SwitchState>();
  readonly dead = new Set<string>();
  /** "host/port" whose BFD session is down although the neighbour lives (starting, or a flap). */
  readonly flapped = new Set<string>();
  /** (host, port) -> (peer host, peer's port), from the plan's tunnel ends. */
  private readonly wires = new Map<string, { host: string; port: number }>();
  /** (host, port) of each VM: it relays the stream back in on its port, from its own MAC. */
  private readonly vms = new Map<string, string>();
  /** Checks run after every bundle (throw to fail). */
  afterBundle: Array<(host: string) => void> = [];
  readonly touched: string[] = [];

  constructor(plan: TreePlan) {
    for (const t of [...plan.tunnels, ...plan.redundancyTunnels]) {
      this.wires.set(`${t.a.host}/${t.a.ofport}`, { host: t.b.host, port: t.b.ofport });
      this.wires.set(`${t.b.host}/${t.b.ofport}`, { host: t.a.host, port: t.a.ofport });
    }
    for (const v of plan.vms) this.vms.set(`${v.host}/${v.ofport}`, v.mac);
  }

  state(host: string): SwitchState {
    return this.switches.get(host) ?? { groups: [], flows: [] };
  }

  /** A switch restarted: alive again, no flows or groups. */
  restart(host: string): void {
    this.dead.delete(host);
    this.switches.set(host, { groups: [], flows: [] });
  }

  private live(host: string, port: number): boolean {
    const peer = this.wires.get(`${host}/${port}`);
    return !!peer && !this.dead.has(host) && !this.dead.has(peer.host) && !this.flapped.has(`${host}/${port}`);
  }

  /** One datagram of the stream from the root's source: receivers reached, by leaf host. */
  deliver(root: string): Map<string, number> {
    const got = new Map<string, number>();
    const walk = (host: string, inPort: number, ethSrc: string, hops: number): void => {
      if (hops > 20) throw new Error('forwarding loop');
      if (this.dead.has(host)) return;
      const s = this.state(host);
      const candidates = s.flows
        .filter((f) => f.table === 0)
        .filter((f) => {
          const m = Object.fromEntries(f.matchText.split(',').map((t) => t.split('=')));
          return Number(m.in_port) === inPort && (m.dl_src === undefined || m.dl_src === ethSrc) && m.tp_dst === '5004';
        })
        .sort((a, b) => b.priority - a.priority);
      if (!candidates.length) return;
      if (candidates.length > 1 && candidates[0].priority === candidates[1].priority) throw new Error(`${host}: two flows of one priority match`);
      run(host, candidates[0].actionsText, ethSrc, hops);
    };
    const run = (host: string, actions: string, ethSrc: string, hops: number): void => {
      let src = ethSrc;
      for (const a of actions.split(',')) {
        const set = /^set_field:([0-9a-f:]+)->eth_src$/.exec(a);
        if (set) src = set[1];
        else if (a.startsWith('set_field:')) continue;
        else if (a.startsWith('group:')) group(host, Number(a.slice(6)), src, hops);
        else if (a.startsWith('output:')) {
          const port = Number(a.slice(7));
          if (port === PATCH_OFPORT) got.set(host, (got.get(host) ?? 0) + 1);
          else if (this.vms.has(`${host}/${port}`)) walk(host, port, this.vms.get(`${host}/${port}`)!, hops + 1);
          else {
            const peer = this.wires.get(`${host}/${port}`);
            if (!peer) throw new Error(`${host}: output to unwired port ${port}`);
            walk(peer.host, peer.port, src, hops + 1);
          }
        } else throw new Error(`${host}: unknown action ${a}`);
      }
    };
    const group = (host: string, id: number, ethSrc: string, hops: number): void => {
      const g = this.state(host).groups.find((x) => x.id === id);
      if (!g) return; // a dangling group action drops
      if (g.type === 'all') for (const b of g.buckets) run(host, b.actionsText, ethSrc, hops);
      else {
        const liveBucket = g.buckets.find((b) =>
          b.watchPort !== undefined ? this.live(host, b.watchPort) : b.watchGroup !== undefined ? (this.state(host).groups.find((x) => x.id === b.watchGroup)?.buckets.length ?? 0) > 0 : false,
        );
        if (liveBucket) run(host, liveBucket.actionsText, ethSrc, hops);
      }
    };
    walk(root, SOURCE_OFPORT, 'src', 0);
    return got;
  }

  /** Routes the provider's ovs-ofctl/appctl calls here. */
  install(): jest.SpyInstance[] {
    const host = (runner: { host: string }) => hostOfAddress(runner.host);
    return [
      jest.spyOn(pool, 'getRunner').mockImplementation((spec) => ({ host: spec.host, run: () => Promise.reject(new Error('no command may run')) }) as never),
      jest.spyOn(appctl, 'tnlNeighSet').mockResolvedValue(undefined),
      jest.spyOn(appctl, 'tnlNeighRelease').mockResolvedValue({ removed: [], stillUsed: [], left: [] }),
      jest.spyOn(ofctl, 'dumpGroups').mockImplementation(async (runner) => {
        if (this.dead.has(host(runner))) throw new Error('timed out (the host is down)');
        return this.state(host(runner)).groups as ofctl.DumpedGroup[];
      }),
      jest.spyOn(ofctl, 'dumpFlows').mockImplementation(async (runner) => {
        if (this.dead.has(host(runner))) throw new Error('timed out (the host is down)');
        return this.state(host(runner)).flows as ofctl.DumpedFlow[];
      }),
      jest.spyOn(ofctl, 'applyBundle').mockImplementation(async (runner, _bridge, ops) => {
        const h = host(runner);
        if (this.dead.has(h)) throw new Error('timed out (the host is down)');
        ofctl.bundleCommand('br1' as never, ops); // the text must serialise
        this.switches.set(h, applyOps(this.state(h), ops));
        this.touched.push(h);
        for (const check of this.afterBundle) check(h);
      }),
    ];
  }
}

/**
 * FlowPath args of a planned path: the component's own mapping (flowPathArgs). The topologies
 * here give unicast receivers no MAC: the test supplies one.
 */
function pathArgs(plan: TreePlan, i: number, down: string[] = []): Record<string, unknown> {
  const p = plan.paths[i];
  const args = { ...flowPathArgs(p, conn, 'br1', down), owner: `vpm/test/path-${p.name}` };
  return { ...args, egress: { ...args.egress, receiverMac: p.receiver.mac ?? receiverMac(p.receiver.ip) } };
}

async function checked(args: Record<string, unknown>): Promise<FlowPathInputs> {
  const r = (await provider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}

type Live = { id: string; outs: FlowPathOutputs };
const create = async (args: Record<string, unknown>): Promise<Live> => (await provider.create!(await checked(args))) as Live;
const update = async (p: Live, args: Record<string, unknown>): Promise<Live> => ({ id: p.id, outs: (await provider.update!(p.id, p.outs, await checked(args))).outs as FlowPathOutputs });

describe('FlowPath on simulated switches: the stream reaches its receiver exactly once, bundle after bundle', () => {
  let spies: jest.SpyInstance[] = [];
  afterEach(() => {
    for (const s of spies) s.mockRestore();
    spies = [];
  });

  const exactly = (f: Fabric, root: string, leaves: string[]) => {
    const got = f.deliver(root);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(leaves.map((l) => [l, 1])));
  };

  it('failover.yaml: create, relay dies, `up` with it failed, it returns, `up` un-failed, delete', async () => {
    const t = failover();
    const plan = planTree(t, HOSTS);
    const f = new Fabric(plan);
    spies = f.install();
    let p = await create(pathArgs(plan, 0));
    exactly(f, 'h1', ['h4']);

    // h2 dies: the data plane alone keeps the stream going (ff at h1, tagged route via h3).
    f.dead.add('h2');
    exactly(f, 'h1', ['h4']);

    // The up after the failure: every intermediate state delivers exactly once; h2 untouched.
    f.afterBundle = [() => exactly(f, 'h1', ['h4'])];
    f.touched.length = 0;
    const failedPlan = planTree(withFailed(t, ['h2']), HOSTS);
    p = await update(p, pathArgs(failedPlan, 0, ['h2']));
    expect(f.touched).not.toContain('h2');
    expect(f.touched[f.touched.length - 1]).not.toBe('h1'); // the old parts go after the root swap
    exactly(f, 'h1', ['h4']);

    // h2 comes back empty (vswitchd restarted); still failed in the topology: nothing changes.
    f.restart('h2');
    exactly(f, 'h1', ['h4']);
    // Un-failed: back to the primary tree, exactly once at every bundle.
    p = await update(p, pathArgs(plan, 0));
    exactly(f, 'h1', ['h4']);
    // ... and through h2 again: with h3 dead the stream still arrives.
    f.dead.add('h3');
    exactly(f, 'h1', ['h4']);
    f.dead.delete('h3');

    f.afterBundle = [];
    await provider.delete!(p.id, p.outs);
    for (const h of ['h1', 'h2', 'h3', 'h4']) expect(f.state(h)).toEqual({ groups: [], flows: [] });
  });

  it('no BFD session up at the diverging hop (BFD starting, or flaps on a loaded host): both ways, a duplicate but never a gap', async () => {
    const plan = planTree(failover(), HOSTS);
    const f = new Fabric(plan);
    spies = f.install();
    const p = await create(pathArgs(plan, 0));
    const h1 = plan.paths[0].hops[0];
    // The backup session flaps while the relay is dead: the fallback still reaches the leaf.
    f.dead.add('h2');
    f.flapped.add(`h1/${h1.backup!.outPort}`);
    exactly(f, 'h1', ['h4']);
    // Both sessions down, every node alive (BFD still starting): two copies, no gap.
    f.dead.delete('h2');
    f.flapped.add(`h1/${h1.outPort}`);
    expect(Object.fromEntries(f.deliver('h1'))).toEqual({ h4: 2 });
    f.flapped.clear();
    exactly(f, 'h1', ['h4']);
    await provider.delete!(p.id, p.outs);
  });

  it('a path without failover, then the reactive `up`: h2 dead means loss until the update', async () => {
    const t = failover();
    const noFailover = (args: Record<string, unknown>) => {
      const { backupHops: _b, ...rest } = args as { backupHops?: unknown; hops: Array<Record<string, unknown>> };
      return { ...rest, hops: rest.hops.map(({ backup: _x, ...h }) => h) };
    };
    const plan = planTree(t, HOSTS);
    const f = new Fabric(plan);
    spies = f.install();
    let p = await create(noFailover(pathArgs(plan, 0)));
    f.dead.add('h2');
    expect(f.deliver('h1').size).toBe(0);
    p = await update(p, noFailover(pathArgs(planTree(withFailed(t, ['h2']), HOSTS), 0, ['h2'])));
    exactly(f, 'h1', ['h4']);
    await provider.delete!(p.id, p.outs);
  });

  it('paper.yaml: two paths of one stream share the root; x dies: each leaf still gets one copy (the backup copy is tagged, never cloned into l1)', async () => {
    const paperPlan = planTree(loadTopologyFile(join(TOPOLOGIES, 'paper.yaml')), HOSTS);
    const f = new Fabric(paperPlan);
    spies = f.install();
    const leafHosts = paperPlan.paths.map((p) => p.hops[p.hops.length - 1].host);
    const paths = [await create(pathArgs(paperPlan, 0)), await create(pathArgs(paperPlan, 1))];
    exactly(f, 'h1', leafHosts);
    f.dead.add('h3'); // x
    exactly(f, 'h1', leafHosts);
    f.dead.delete('h3');
    for (const p of paths) await provider.delete!(p.id, p.outs);
    for (const h of ['h1', 'h2', 'h3', 'h4']) expect(f.state(h)).toEqual({ groups: [], flows: [] });
  });

  it('two paths of one stream through the same relay: one exit at the root, one copy per leaf, relay dead or alive', async () => {
    const plan = planTree(twoLeaves(), HOSTS);
    const f = new Fabric(plan);
    spies = f.install();
    const a = await create(pathArgs(plan, 0));
    const b = await create(pathArgs(plan, 1));
    expect(f.state('h1').groups.filter((g) => g.type === 'all').map((g) => g.buckets.length)).toEqual([1]);
    exactly(f, 'h1', ['h4', 'h5']);
    f.dead.add('h2');
    exactly(f, 'h1', ['h4', 'h5']);
    f.dead.delete('h2');
    await provider.delete!(a.id, a.outs);
    exactly(f, 'h1', ['h5']);
    f.dead.add('h2');
    exactly(f, 'h1', ['h5']);
    f.dead.delete('h2');
    await provider.delete!(b.id, b.outs);
    for (const h of ['h1', 'h2', 'h3', 'h4', 'h5']) expect(f.state(h)).toEqual({ groups: [], flows: [] });
  });
});
