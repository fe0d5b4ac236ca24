/**
 * The failover topology (stacks/topologies/failover.yaml) on the lab, built with the providers
 * the way StreamingTree would build it, but called directly (check + create/update/delete as
 * the engine calls them; no Pulumi engine, so a test runs in seconds):
 *   - the plan is components/streaming-tree planTree on the YAML with the lab's facts, so port
 *     numbers, backup exits and backup routes are exactly the component's;
 *   - br1 + patch on every node (FlowLab), the source port src0 on the root;
 *   - one GreTunnel per tree and redundancy link, BFD on both ends;
 *   - one FlowPath per planned path (inputs mapped from the plan as component.ts maps them).
 * Failures: kill a node's ovs-vswitchd by its pidfile PID, or cut its underlay veth; a killed
 * vswitchd can be restarted (same OVSDB, so its bridges and ports come back, flows do not).
 * `lab down` ends a restarted vswitchd too (it reads the pidfiles under the lab directory).
 */
import { flowPathArgs } from '../../components/streaming-tree/flow-path-args';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planTree, type HostFacts, type TreePlan } from '../../components/streaming-tree/plan';
import { loadTopologyFile, parseTopology, type Topology } from '../../components/topology';
import type { Inventory } from '../inventory';
import { LabPaths, ovsEnv } from '../names';
import { repoRoot } from '../names';
import { procInfo } from '../procs';
import { sh } from '../sh';
import { parseBfdShow, type BfdStatus } from '../../providers/ovs/appctl';
import { provider as tunnelProvider } from '../../providers/gre-tunnel/provider';
import { provider as pathProvider } from '../../providers/flow-path/provider';
import type { FlowPathOutputs } from '../../providers/flow-path/types';
import { FlowLab } from './flow-lab';
import { sleep } from '../stream/measure';

export const FAILOVER_TOPOLOGY = path.join(repoRoot(), 'stacks/topologies/failover.yaml');
/** Where the stream leaves the root's source (src0 on h1's br1): the overlay broadcast. */
export const STREAM_TO = '10.99.0.255';
export const STREAM_FROM = '10.99.0.1';

export interface Bfd {
  minTxMs: number;
  minRxMs: number;
}

type Created = { id: string; outs: any };
export type LivePath = { id: string; outs: FlowPathOutputs };

async function checked(p: typeof pathProvider, news: Record<string, unknown>): Promise<any> {
  const c = (await p.check!({}, news)) as { inputs?: any; failures?: Array<{ property: string; reason: string }> };
  if (c.failures?.length) throw new Error(`check failed: ${c.failures.map((f) => `${f.property}: ${f.reason}`).join('; ')}`);
  return c.inputs;
}

export class FailoverLab {
  readonly flow: FlowLab;
  readonly topology: Topology;
  readonly hosts: Record<string, HostFacts>;
  private readonly tunnels = new Map<string, Created>();
  private bfd: Bfd | undefined;

  constructor(readonly inventory: Inventory, readonly stack = 'failover', topology?: Topology) {
    this.flow = new FlowLab(inventory, stack);
    const t = topology ?? loadTopologyFile(FAILOVER_TOPOLOGY);
    // Receiver MACs from the inventory (as stacks/main.ts does).
    const macByIp = new Map(inventory.receivers.map((r) => [r.ip, r.mac]));
    this.topology = parseTopology({ ...t, paths: t.paths.map((p) => ({ ...p, receiver: { ...p.receiver, mac: p.receiver.mac ?? macByIp.get(p.receiver.ip) } })) });
    this.hosts = Object.fromEntries(inventory.hypervisors.map((h) => [h.name, { underlayIp: h.ip, underlayMac: h.mac }]));
  }

  /** The component's plan, with these nodes marked failed. */
  plan(failed: readonly string[] = []): TreePlan {
    const t = parseTopology({ ...this.topology, nodes: this.topology.nodes.map((n) => ({ ...n, failed: failed.includes(n.id) })) });
    return planTree(t, this.hosts);
  }

  /** Bridges and every tunnel (tree + redundancy) of the plan, BFD on; waits for BFD up. */
  async build(bfd: Bfd, plan = this.plan()): Promise<void> {
    this.bfd = bfd;
    await Promise.all(plan.bridges.map((b) => this.flow.bridge(b.host, { source: b.node === plan.root })));
    for (const t of [...plan.tunnels, ...plan.redundancyTunnels]) await this.tunnel(t, bfd);
    await this.waitBfd(plan);
  }

  private async tunnel(t: TreePlan['tunnels'][number], bfd: Bfd): Promise<void> {
    const end = (e: typeof t.a) => ({ connection: this.flow.conn(e.host), bridge: 'br1', remoteIp: e.remoteIp, portName: e.portName, ofport: e.ofport });
    const inputs = await checked(tunnelProvider as typeof pathProvider, { owner: `vpm/${this.stack}/tunnel-${t.name}`, a: end(t.a), b: end(t.b), bfd });
    this.tunnels.set(t.name, (await tunnelProvider.create!(inputs)) as Created);
  }

  /**
   * The BFD intervals waitBfd waits for, when the tunnels were made by someone else (a
   * StreamingTree stack: its DEFAULT_BFD) rather than by build().
   */
  expectBfd(bfd: Bfd): void {
    this.bfd = bfd;
  }

  /** Changes every tunnel's BFD intervals (GreTunnel update) and waits for the sessions. */
  async setBfd(bfd: Bfd, plan = this.plan()): Promise<void> {
    this.bfd = bfd;
    for (const [name, t] of this.tunnels) {
      const news = await checked(tunnelProvider as typeof pathProvider, { owner: t.outs.owner, a: t.outs.a, b: t.outs.b, bfd });
      this.tunnels.set(name, { id: t.id, outs: (await tunnelProvider.update!(t.id, t.outs, news)).outs });
    }
    await this.waitBfd(plan);
  }

  /**
   * Waits until BFD forwards on both ends of every tunnel among live nodes (`except`: skip
   * these nodes) AND runs at the configured rate: a session starts at 1 s and only then
   * negotiates its fast interval (RFC 5880 poll sequence), so "up" alone is not yet the
   * detection time being measured.
   */
  async waitBfd(plan: TreePlan, { except = [] as readonly string[], timeoutMs = 20_000 } = {}): Promise<number> {
    const ends = [...plan.tunnels, ...plan.redundancyTunnels]
      .filter((t) => !except.includes(t.a.node) && !except.includes(t.b.node))
      .flatMap((t) => [t.a, t.b]);
    const fast = Math.max(this.bfd?.minTxMs ?? 1000, this.bfd?.minRxMs ?? 1000);
    const t0 = Date.now();
    for (;;) {
      const shown = await Promise.all([...new Set(ends.map((e) => e.host))].map(async (h) => [h, parseBfdShow(await this.flow.hosts.must(h, ['ovs-appctl', 'bfd/show']))] as const));
      const byHost = new Map(shown);
      const states = ends.map((e) => byHost.get(e.host)!.find((b) => b.interface === e.portName));
      const ready = (b: BfdStatus | undefined) => !!b && b.forwarding && Number(/(\d+)ms/.exec(b.raw['TX Interval'] ?? '')?.[1] ?? Infinity) <= fast && Number(/(\d+)ms/.exec(b.raw['RX Interval'] ?? '')?.[1] ?? Infinity) <= fast;
      if (states.every(ready)) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`BFD not up at ${fast} ms after ${timeoutMs} ms: ${ends.map((e, i) => `${e.host}/${e.portName}: forwarding ${states[i]?.forwarding}, tx ${states[i]?.raw['TX Interval']}, rx ${states[i]?.raw['RX Interval']}`).join('; ')}`);
      }
      await sleep(50);
    }
  }

  /** BFD flaps so far on every tunnel end (bfd_status:flap_count), by "host/port". */
  async bfdFlaps(plan = this.plan()): Promise<Record<string, number>> {
    const ends = [...plan.tunnels, ...plan.redundancyTunnels].flatMap((t) => [t.a, t.b]);
    const out: Record<string, number> = {};
    for (const e of ends) {
      const r = await this.flow.hosts.exec(e.host, ['ovs-vsctl', 'get', 'Interface', e.portName, 'bfd_status:flap_count']);
      out[`${e.host}/${e.portName}`] = r.code === 0 ? Number(r.stdout.trim().replace(/"/g, '')) : NaN;
    }
    return out;
  }

  /** FlowPath args of planned path `i`: the component's own mapping (flowPathArgs), with an owner of this test's. */
  pathArgs(plan: TreePlan, i = 0, down: readonly string[] = []): Record<string, unknown> {
    const p = plan.paths[i];
    return { ...flowPathArgs(p, (h) => this.flow.conn(h), 'br1', down), owner: `vpm/${this.stack}/path-${p.name}` };
  }

  async createPath(args: Record<string, unknown>): Promise<LivePath> {
    return (await pathProvider.create!(await checked(pathProvider, args))) as LivePath;
  }

  /** check + update, as `pulumi up` runs a changed FlowPath. */
  async updatePath(p: LivePath, args: Record<string, unknown>): Promise<LivePath> {
    const news = await checked(pathProvider, args);
    return { id: p.id, outs: (await pathProvider.update!(p.id, p.outs, news)).outs as FlowPathOutputs };
  }

  async deletePath(p: LivePath): Promise<void> {
    await pathProvider.delete!(p.id, p.outs);
  }

  /** The receiver namespace of planned path `i`. */
  receiverNetns(plan: TreePlan, i = 0): string {
    const r = this.inventory.receivers.find((x) => x.ip === plan.paths[i].receiver.ip);
    if (!r) throw new Error(`no lab receiver has ${plan.paths[i].receiver.ip}: bring the lab up with enough receivers`);
    return r.netns;
  }

  netns(host: string): string {
    return this.flow.hv(host).netns;
  }

  private ovsDir(host: string): string {
    return LabPaths.default().ovsDir(host);
  }

  vswitchdPid(host: string): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.ovsDir(host), 'ovs-vswitchd.pid'), 'utf8').trim());
      const info = procInfo(pid);
      return info && info.state !== 'Z' && info.comm.startsWith('ovs-vswitchd') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGKILL to the host's ovs-vswitchd (by its pidfile), as a switch crash. Returns when it is dead. */
  async killVswitchd(host: string): Promise<void> {
    const pid = this.vswitchdPid(host);
    if (pid === undefined) throw new Error(`${host}: no running ovs-vswitchd`);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && this.vswitchdPid(host) === pid; i++) await sleep(10);
  }

  /** Starts the host's ovs-vswitchd again (as lab/ovs.ts does) if it is not running. */
  async restartVswitchd(host: string): Promise<void> {
    if (this.vswitchdPid(host) !== undefined) return;
    const dir = this.ovsDir(host);
    await sh(
      ['ip', 'netns', 'exec', this.netns(host), 'ovs-vswitchd', `unix:${path.join(dir, 'db.sock')}`, '--disable-system', `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`, `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`, '--detach'],
      { env: ovsEnv(dir), where: this.netns(host), timeoutMs: 30_000 },
    );
    // Ready when it answers on the bridge.
    for (let i = 0; i < 100; i++) {
      if ((await this.flow.hosts.exec(host, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-flows', 'br1'])).code === 0) return;
      await sleep(50);
    }
    throw new Error(`${host}: ovs-vswitchd did not come back`);
  }

  /** Takes the host's underlay veth down (or up again): it vanishes from the LAN. */
  async underlay(host: string, up: boolean): Promise<void> {
    await sh(['ip', '-n', this.inventory.underlay.netns, 'link', 'set', this.flow.hv(host).name, up ? 'up' : 'down'], { where: this.inventory.underlay.netns });
  }

  /** Removes everything (tunnels, bridges); restarts a killed vswitchd first so deletes can run. */
  async teardown(): Promise<void> {
    for (const h of this.inventory.hypervisors) {
      if (this.vswitchdPid(h.name) === undefined) await this.restartVswitchd(h.name).catch(() => undefined);
    }
    for (const [, t] of [...this.tunnels].reverse()) await tunnelProvider.delete!(t.id, t.outs).catch(() => undefined);
    this.tunnels.clear();
    await this.flow.teardown();
  }
}
