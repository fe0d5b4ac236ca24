/**
 * `vpm status`: what every host of a stack says right now. For each host, in parallel and
 * within a bounded time (an unreachable host is "offline", it never holds the report up):
 * reachable or not, CPU use over an interval from /proc/stat (classified by the stack's two
 * thresholds), its VMs and their state, migrations under way (domjobinfo), tunnels with link
 * and BFD state, and every path hop judged against the path's own plan with refresh's check,
 * primary and backup segments, with their flow counters (hop-judge.ts). One SSH connection per
 * host (the pool of providers/exec), all commands of a host on it at once.
 *
 * StatusCollector keeps the previous CPU sample and counters, so repeated collections
 * (`--watch`, the dashboard) need no extra CPU wait and give packet rates.
 */
import { type CommandRunner, getRunner } from '../providers/exec';
import { dumpFlowStats, dumpGroups, type DumpedFlowStats, type DumpedGroup, parseBridgeName } from '../providers/ovs';
import { parseJobInfo, domJobInfoText, listAllDomains } from '../providers/libvirt';
import { classifyCpu, cpuPercent, parseProcStat, type CpuLevel, type CpuSample, type CpuThresholds } from './cpu';
import { judgeSwitch, type SegmentStatus } from './hop-judge';
import type { Link, ModelHop, ModelHost, ModelNode, ModelPath, ModelSwitch, NodeRole, StackModel } from './model';
import {
  jobProgress,
  LIST_INTERFACES_ARGV,
  parseInterfaces,
  TUNNEL_TYPES,
  type InterfaceRow,
  type JobProgress,
  type ListedDomain,
} from './parse';

export const STATUS_VERSION = 1;
export const DEFAULT_HOST_TIMEOUT_MS = 5000;
export const DEFAULT_CPU_SAMPLE_MS = 500;

export interface HostStatus {
  readonly name: string;
  readonly address: string;
  readonly nodes: readonly string[];
  readonly roles: readonly NodeRole[];
  readonly online: boolean;
  /** Why it is offline (or the first thing that failed on it). */
  readonly error?: string;
  /** Round trip of the first command (including connecting, the first time). */
  readonly latencyMs?: number;
  readonly cpu: { readonly percent: number | null; readonly level: CpuLevel };
  readonly vms: ReadonlyArray<{ readonly name: string; readonly state: string; readonly managed: boolean }>;
  readonly tunnels: readonly TunnelStatus[];
  /** Parts that could not be read although the host answered (e.g. no libvirt there). */
  readonly errors: readonly string[];
}

export interface TunnelStatus {
  readonly name: string;
  readonly type: string;
  readonly ofport?: number;
  readonly remoteIp?: string;
  readonly linkState?: string;
  readonly bfd?: { readonly state?: string; readonly forwarding?: boolean; readonly remoteState?: string; readonly diagnostic?: string };
}

export type HopState = 'ok' | 'missing' | 'unreachable' | 'unknown';

export interface HopStatus {
  readonly node: string;
  readonly host: string;
  readonly state: HopState;
  /** The VM the hop sends the stream through (its own, for a path at its leaf). */
  readonly vm?: string;
  /** Packets the hop forwarded for this path (its entry segment), null when unknown. */
  readonly packets: number | null;
  readonly bytes: number | null;
  /** Packets per second since the previous collection (null on the first). */
  readonly pps: number | null;
  /** On a hop through a VM: packets that came back from the VM and went on. */
  readonly vmPackets?: number | null;
  readonly segments: readonly SegmentStatus[];
  readonly problems: readonly string[];
}

export interface PathStatus {
  readonly name: string;
  readonly cookie: string;
  readonly receiver?: string;
  readonly udpPort?: number;
  readonly nodes: readonly string[];
  readonly hops: readonly HopStatus[];
  /** Switches only the path's routes around relays visit (judged the same way; packets = diverted traffic). */
  readonly backupHops: readonly HopStatus[];
  /** Packets the leaf sent out to the receiver (its last segment), null when unknown. */
  readonly delivered: number | null;
  readonly ok: boolean;
}

export interface MigrationStatus extends JobProgress {
  readonly vm: string;
  readonly host: string;
}

export interface VmStatus {
  readonly name: string;
  readonly node?: string;
  readonly role?: string;
  /** Where the stack's state has it. */
  readonly host: string;
  /** Where it was found (running or defined), null when no reachable host has it. */
  readonly liveHost: string | null;
  readonly state: string;
  readonly lastMigration?: Readonly<Record<string, unknown>>;
  readonly migration?: MigrationStatus;
}

export interface StatusReport {
  readonly version: typeof STATUS_VERSION;
  readonly stack: string;
  readonly takenAt: string;
  /** How long the collection took (all hosts, in parallel). */
  readonly durationMs: number;
  readonly thresholds: CpuThresholds;
  readonly root?: string;
  readonly nodes: readonly ModelNode[];
  readonly tree: readonly Link[];
  readonly redundancy: readonly Link[];
  readonly pruned: readonly string[];
  readonly hosts: readonly HostStatus[];
  readonly paths: readonly PathStatus[];
  readonly vms: readonly VmStatus[];
  readonly migrations: readonly MigrationStatus[];
  readonly summary: {
    readonly hosts: number;
    readonly online: number;
    readonly offline: number;
    readonly warn: number;
    readonly crit: number;
    readonly paths: number;
    readonly pathsOk: number;
  };
}

/** Everything read from one host in one collection. */
export interface HostProbe {
  readonly online: boolean;
  readonly error?: string;
  readonly latencyMs?: number;
  readonly cpu?: CpuSample;
  readonly cpuPercent: number | null;
  readonly flows: Readonly<Record<string, readonly DumpedFlowStats[]>>;
  /** Groups per bridge (absent when not read: hops there are then "unknown"). */
  readonly groups?: Readonly<Record<string, readonly DumpedGroup[]>>;
  readonly interfaces?: readonly InterfaceRow[];
  readonly domains?: readonly ListedDomain[];
  readonly jobs: Readonly<Record<string, JobProgress>>;
  readonly errors: readonly string[];
}

export interface CollectorOptions {
  /** Bound for everything read from one host (connect included); default 5000 ms. */
  readonly hostTimeoutMs?: number;
  /** CPU sampling interval when there is no previous sample; default 500 ms. */
  readonly cpuSampleMs?: number;
  /** The runner of a host (tests); default the pooled SSH runner with a short connect. */
  readonly runnerFor?: (host: ModelHost) => CommandRunner;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}

/** The default runner: pooled SSH, one short connect attempt pair bounded by the host timeout. */
export function defaultRunnerFor(hostTimeoutMs: number): (host: ModelHost) => CommandRunner {
  return (host) =>
    getRunner({
      ...host.connection,
      connectTimeoutMs: Math.max(1000, Math.min(host.connection.connectTimeoutMs ?? 15000, hostTimeoutMs - 500)),
      connectAttempts: 2,
    });
}

/** Resolves to `fallback()` if `p` takes longer than `ms` (p keeps running, its result is dropped). */
function within<T>(p: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback()), ms);
    }),
  ]);
}

/**
 * Reads one host. Offline when the first command (the CPU sample, which also connects) fails;
 * the rest is best effort, each failure noted in `errors`.
 */
export async function probeHost(
  runner: CommandRunner,
  host: ModelHost,
  previous: CpuSample | undefined,
  options: { hostTimeoutMs: number; cpuSampleMs: number; withVirsh: boolean },
): Promise<HostProbe> {
  const start = Date.now();
  const deadline = start + options.hostTimeoutMs;
  const left = () => Math.max(250, deadline - Date.now());
  const errors: string[] = [];
  const offline = (error: string): HostProbe => ({ online: false, error, cpuPercent: null, flows: {}, jobs: {}, errors: [] });
  const sampleCpu = async (): Promise<CpuSample> => parseProcStat((await runner.run(['head', '-n1', '/proc/stat'], { timeoutMs: left() })).stdout);

  let first: CpuSample;
  try {
    first = await sampleCpu();
  } catch (e) {
    return offline(message(e));
  }
  const latencyMs = Date.now() - start;

  const flows: Record<string, readonly DumpedFlowStats[]> = {};
  const groups: Record<string, readonly DumpedGroup[]> = {};
  const work: Array<Promise<unknown>> = host.bridges.flatMap((br) => [
    Promise.resolve().then(() => dumpFlowStats(runner, parseBridgeName(br, 'bridge'))).then(
      (f) => void (flows[br] = f),
      (e) => void errors.push(`flows of ${br}: ${message(e)}`),
    ),
    Promise.resolve().then(() => dumpGroups(runner, parseBridgeName(br, 'bridge'))).then(
      (g) => void (groups[br] = g),
      (e) => void errors.push(`groups of ${br}: ${message(e)}`),
    ),
  ]);
  let interfaces: InterfaceRow[] | undefined;
  work.push(
    runner.run(LIST_INTERFACES_ARGV, { timeoutMs: left() }).then(
      (r) => void (interfaces = parseInterfaces(r.stdout)),
      (e) => void errors.push(`interfaces: ${message(e)}`),
    ),
  );
  let domains: ListedDomain[] | undefined;
  const jobs: Record<string, JobProgress> = {};
  if (options.withVirsh) {
    work.push(
      listAllDomains(runner, left())
        .then(async (listed) => {
          domains = listed;
          await Promise.all(
            listed
              .filter((d) => d.state === 'running' || d.state === 'paused')
              .map((d) =>
                domJobInfoText(runner, d.name, left()).then(
                  (text) => {
                    if (text === undefined) return;
                    const p = jobProgress(parseJobInfo(text));
                    if (p) jobs[d.name] = p;
                  },
                  () => undefined, // a domain that left meanwhile (migrated away) has no job here
                ),
              ),
          );
        })
        .catch((e) => void errors.push(`virsh: ${message(e)}`)),
    );
  }

  // CPU: against the previous collection's sample if there is one, else a second sample.
  let cpu = first;
  let percent: number | null = null;
  if (previous && first.at - previous.at >= 200) {
    percent = cpuPercent(previous, first);
  } else {
    const wait = Math.min(options.cpuSampleMs - (Date.now() - first.at), deadline - Date.now() - 300);
    if (wait > 0) await sleep(wait);
    try {
      cpu = await sampleCpu();
      percent = cpuPercent(first, cpu);
    } catch (e) {
      errors.push(`cpu: ${message(e)}`);
    }
  }
  await Promise.all(work);
  return {
    online: true,
    latencyMs,
    cpu,
    cpuPercent: percent,
    flows,
    groups,
    ...(interfaces ? { interfaces } : {}),
    ...(domains ? { domains } : {}),
    jobs,
    errors,
  };
}

function tunnelsOf(interfaces: readonly InterfaceRow[] | undefined): TunnelStatus[] {
  return (interfaces ?? [])
    .filter((i) => TUNNEL_TYPES.has(i.type))
    .map((i) => {
      const b = i.bfdStatus;
      const hasBfd = Object.keys(b).length > 0;
      return {
        name: i.name,
        type: i.type,
        ...(i.ofport !== undefined ? { ofport: i.ofport } : {}),
        ...(i.options.remote_ip ? { remoteIp: i.options.remote_ip } : {}),
        ...(i.linkState ? { linkState: i.linkState } : {}),
        ...(hasBfd
          ? {
              bfd: {
                ...(b.state ? { state: b.state } : {}),
                ...(b.forwarding ? { forwarding: b.forwarding === 'true' } : {}),
                ...(b.remote_state ? { remoteState: b.remote_state } : {}),
                ...(b.diagnostic ? { diagnostic: b.diagnostic } : {}),
              },
            }
          : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Collects StatusReports of one stack; keeps CPU samples and counters between collections. */
export class StatusCollector {
  private readonly hostTimeoutMs: number;
  private readonly cpuSampleMs: number;
  private readonly runnerFor: (host: ModelHost) => CommandRunner;
  private readonly cpuSamples = new Map<string, CpuSample>();
  private readonly lastCounts = new Map<string, { packets: number; at: number }>();

  constructor(
    private model: StackModel,
    private thresholds: CpuThresholds,
    options: CollectorOptions = {},
  ) {
    this.hostTimeoutMs = options.hostTimeoutMs ?? DEFAULT_HOST_TIMEOUT_MS;
    this.cpuSampleMs = options.cpuSampleMs ?? DEFAULT_CPU_SAMPLE_MS;
    this.runnerFor = options.runnerFor ?? defaultRunnerFor(this.hostTimeoutMs);
  }

  /** A newer model (after an update of the stack); samples of hosts still there are kept. */
  setModel(model: StackModel, thresholds?: CpuThresholds): void {
    this.model = model;
    if (thresholds) this.thresholds = thresholds;
  }

  get currentModel(): StackModel {
    return this.model;
  }

  async collect(): Promise<StatusReport> {
    const started = Date.now();
    const model = this.model;
    const withVirsh = true;
    const probes = new Map<string, HostProbe>();
    await Promise.all(
      model.hosts.map(async (h) => {
        const bound = this.hostTimeoutMs + 1000;
        const probe = await within(
          probeHost(this.runnerFor(h), h, this.cpuSamples.get(h.name), { hostTimeoutMs: this.hostTimeoutMs, cpuSampleMs: this.cpuSampleMs, withVirsh }).catch(
            (e): HostProbe => ({ online: false, error: message(e), cpuPercent: null, flows: {}, jobs: {}, errors: [] }),
          ),
          bound,
          (): HostProbe => ({ online: false, error: `no answer within ${bound} ms`, cpuPercent: null, flows: {}, jobs: {}, errors: [] }),
        );
        probes.set(h.name, probe);
        if (probe.cpu) this.cpuSamples.set(h.name, probe.cpu);
        else this.cpuSamples.delete(h.name);
      }),
    );
    const now = Date.now();
    return { ...this.report(model, probes, now), durationMs: now - started };
  }

  /** One switch of a path: reachable, read, and everything its plan names there present (hop-judge.ts). */
  private hopStatus(path: ModelPath, node: string, host: string, bridge: string, sw: ModelSwitch | undefined, probes: ReadonlyMap<string, HostProbe>, now: number, vm?: string): HopStatus {
    const base = { node, host, ...(vm ? { vm } : {}) };
    const blank = { packets: null, bytes: null, pps: null, segments: [] };
    const p = probes.get(host);
    if (!p?.online) return { ...base, state: 'unreachable', ...blank, problems: [p?.error ?? 'host not probed'] };
    if (!sw) return { ...base, state: 'unknown', ...blank, problems: [`no plan of the path here: ${path.planError ?? 'the state does not describe this hop'}`] };
    const flows = p.flows[bridge];
    const groups = p.groups?.[bridge];
    if (!flows || !groups) return { ...base, state: 'unknown', ...blank, problems: [`${!flows ? 'flows' : 'groups'} of ${bridge} not read`] };
    const j = judgeSwitch(sw, path.cookie, flows, groups);
    // A switch only backup routes visit counts what was diverted through it.
    const counted = sw.backupOnly ? j.segments[0] : j.entry;
    const key = `${path.name}|${node}|${sw.backupOnly ? 'backup' : 'hop'}`;
    const before = this.lastCounts.get(key);
    let pps: number | null = null;
    if (counted) {
      if (before && now > before.at && counted.packets >= before.packets) pps = Math.round(((counted.packets - before.packets) * 1000) / (now - before.at));
      this.lastCounts.set(key, { packets: counted.packets, at: now });
    }
    const viaVm = sw.plan.hop.vmPort !== undefined && sw.plan.index > 0;
    return {
      ...base,
      state: j.ok ? 'ok' : 'missing',
      packets: counted?.packets ?? null,
      bytes: counted?.bytes ?? null,
      pps,
      ...(viaVm ? { vmPackets: j.fromVm?.packets ?? null } : {}),
      segments: j.segments,
      problems: j.problems,
    };
  }

  /** Assembles the report from probes (pure apart from the rate memory). */
  report(model: StackModel, probes: ReadonlyMap<string, HostProbe>, now: number, durationMs = 0): StatusReport {
    const managed = new Set(model.vms.map((v) => v.name));
    const hosts: HostStatus[] = model.hosts.map((h) => {
      const p = probes.get(h.name);
      const roles = h.nodes.map((n) => model.nodes.find((x) => x.id === n)?.role).filter((r): r is NodeRole => !!r);
      return {
        name: h.name,
        address: h.address,
        nodes: h.nodes,
        roles,
        online: !!p?.online,
        ...(p?.error ? { error: p.error } : !p ? { error: 'not probed' } : {}),
        ...(p?.latencyMs !== undefined ? { latencyMs: p.latencyMs } : {}),
        cpu: { percent: p?.cpuPercent ?? null, level: p?.online ? classifyCpu(p.cpuPercent, this.thresholds) : 'unknown' },
        vms: (p?.domains ?? []).map((d) => ({ name: d.name, state: d.state, managed: managed.has(d.name) })),
        tunnels: tunnelsOf(p?.interfaces),
        errors: p?.errors ?? [],
      };
    });

    const paths: PathStatus[] = model.paths.map((path) => {
      const switchOf = (hop: ModelHop, i: number) => path.switches?.find((sw) => !sw.backupOnly && sw.plan.index === i && sw.node === hop.node);
      const hops = path.hops.map((hop, i) => this.hopStatus(path, hop.node, hop.host, hop.bridge, switchOf(hop, i), probes, now, hop.vm));
      const backupHops = (path.switches ?? []).filter((sw) => sw.backupOnly).map((sw) => this.hopStatus(path, sw.node, sw.host, sw.bridge, sw, probes, now));
      const last = hops[hops.length - 1];
      const delivered = !last ? null : last.vmPackets !== undefined ? last.vmPackets : last.packets;
      return {
        name: path.name,
        cookie: path.cookie,
        ...(path.receiver ? { receiver: path.receiver } : {}),
        ...(path.udpPort !== undefined ? { udpPort: path.udpPort } : {}),
        nodes: path.nodes,
        hops,
        backupHops,
        delivered: delivered ?? null,
        ok: [...hops, ...backupHops].every((h) => h.state === 'ok'),
      };
    });

    const migrations: MigrationStatus[] = [];
    for (const h of model.hosts) {
      for (const [vm, job] of Object.entries(probes.get(h.name)?.jobs ?? {})) migrations.push({ vm, host: h.name, ...job });
    }
    const vms: VmStatus[] = model.vms.map((v) => {
      const found = model.hosts
        .map((h) => ({ host: h.name, d: probes.get(h.name)?.domains?.find((d) => d.name === v.name) }))
        .filter((x) => x.d);
      // Running beats defined-but-off (after a migration the source may keep a shut-off definition).
      const live = found.find((x) => x.d!.state === 'running' || x.d!.state === 'paused') ?? found[0];
      const anyUnknown = model.hosts.some((h) => !probes.get(h.name)?.domains);
      const migration = migrations.find((m) => m.vm === v.name);
      return {
        name: v.name,
        ...(v.node ? { node: v.node } : {}),
        ...(v.role ? { role: v.role } : {}),
        host: v.host,
        liveHost: live?.host ?? null,
        state: live?.d?.state ?? (anyUnknown ? 'unknown' : 'absent'),
        ...(v.lastMigration ? { lastMigration: v.lastMigration } : {}),
        ...(migration ? { migration } : {}),
      };
    });

    return {
      version: STATUS_VERSION,
      stack: model.stack,
      takenAt: new Date(now).toISOString(),
      durationMs,
      thresholds: this.thresholds,
      ...(model.root ? { root: model.root } : {}),
      nodes: model.nodes,
      tree: model.tree,
      redundancy: model.redundancy,
      pruned: model.pruned,
      hosts,
      paths,
      vms,
      migrations,
      summary: {
        hosts: hosts.length,
        online: hosts.filter((h) => h.online).length,
        offline: hosts.filter((h) => !h.online).length,
        warn: hosts.filter((h) => h.cpu.level === 'warn').length,
        crit: hosts.filter((h) => h.cpu.level === 'crit').length,
        paths: paths.length,
        pathsOk: paths.filter((p) => p.ok).length,
      },
    };
  }
}

/**
 * Whether a long-running monitor (status --watch, dashboard) should re-read the stack: every
 * `refreshMs`, and sooner (at most every 5 s) when the hosts disagree with the state about
 * where a VM runs, the sign of a `pulumi up` that migrated it (its paths changed too).
 */
export function shouldReloadModel(latest: StatusReport | undefined, loadedAt: number, now: number, refreshMs: number): boolean {
  if (now - loadedAt >= refreshMs) return true;
  const drift = !!latest && latest.vms.some((v) => v.liveHost !== null && v.liveHost !== v.host);
  return drift && now - loadedAt >= 5000;
}

// ---------------------------------------------------------------------------------------
// The human table.

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const fmtNum = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toLocaleString('en-US'));

function bytes(n: number | undefined): string {
  if (n === undefined) return '?';
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The report as text tables (what `vpm status` prints without --json). */
export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  const s = r.summary;
  out.push(
    `stack ${r.stack}  ${r.takenAt} (${r.durationMs} ms)  hosts ${s.online}/${s.hosts} online` +
      `  CPU warn ${r.thresholds.warn}% crit ${r.thresholds.crit}%  paths ${s.pathsOk}/${s.paths} ok`,
  );
  out.push('');
  const hostRows = [['HOST', 'ADDRESS', 'STATE', 'CPU', 'NODES', 'VMS', 'TUNNELS']];
  for (const h of r.hosts) {
    const nodes = h.nodes.map((n, i) => `${n}${h.roles[i] ? ` (${h.roles[i]})` : ''}`).join(', ') || '-';
    const vms = h.vms.map((v) => `${v.name} ${v.state}`).join(', ') || '-';
    const tunnels =
      h.tunnels
        .map((t) => `${t.name} ${t.linkState ?? '?'}${t.bfd ? ` bfd:${t.bfd.state ?? '?'}${t.bfd.forwarding === false ? '(not forwarding)' : ''}` : ''}`)
        .join(', ') || '-';
    const cpu = h.online ? (h.cpu.percent === null ? '?' : `${h.cpu.percent.toFixed(1)}% ${h.cpu.level}`) : '-';
    hostRows.push([h.name, h.address, h.online ? 'online' : 'OFFLINE', cpu, nodes, vms, tunnels]);
  }
  out.push(table(hostRows));
  for (const h of r.hosts) {
    if (!h.online) out.push(`  ${h.name}: ${h.error ?? 'unreachable'}`);
    for (const e of h.errors) out.push(`  ${h.name}: ${e}`);
  }
  if (r.paths.length) {
    out.push('');
    const rows = [['PATH', 'HOP', 'STATE', 'PACKETS', 'BYTES', 'PPS', 'VIA VM']];
    const via = (h: HopStatus) => (h.vmPackets === undefined ? '' : `${h.vm ?? '?'} ${fmtNum(h.vmPackets)}`);
    for (const p of r.paths) {
      p.hops.forEach((h, i) =>
        rows.push([i === 0 ? `${p.name}${p.receiver ? ` -> ${p.receiver}` : ''}` : '', h.node, h.state, fmtNum(h.packets), fmtNum(h.bytes), fmtNum(h.pps), via(h)]),
      );
      for (const h of p.backupHops ?? []) rows.push(['', `${h.node} (backup)`, h.state, fmtNum(h.packets), fmtNum(h.bytes), fmtNum(h.pps), '']);
    }
    out.push(table(rows));
    for (const p of r.paths) for (const h of [...p.hops, ...(p.backupHops ?? [])]) for (const pr of h.problems) out.push(`  ${p.name} at ${h.node}: ${pr}`);
  }
  if (r.vms.length) {
    out.push('');
    const rows = [['VM', 'NODE', 'HOST', 'STATE', 'LAST MIGRATION']];
    for (const v of r.vms) {
      const lm = v.lastMigration as { from?: string; to?: string; downtimeMs?: number; totalMs?: number } | undefined;
      const moved = v.liveHost && v.liveHost !== v.host ? `${v.liveHost} (state says ${v.host})` : v.liveHost ?? `${v.host}?`;
      rows.push([v.name, v.node ?? '-', moved, v.state, lm ? `${lm.from} -> ${lm.to}, downtime ${lm.downtimeMs ?? '?'} ms, total ${lm.totalMs ?? '?'} ms` : '-']);
    }
    out.push(table(rows));
  }
  if (r.migrations.length) {
    out.push('');
    for (const m of r.migrations) {
      const pct = m.progress === undefined ? '?' : `${Math.round(m.progress * 100)}%`;
      out.push(`migration of ${m.vm} from ${m.host}: ${m.type}${m.operation ? ` (${m.operation})` : ''} ${pct}, ${bytes(m.dataProcessedBytes)} sent, ${m.timeElapsedMs ?? '?'} ms`);
    }
  }
  if (r.redundancy.length) out.push('', `redundancy links: ${r.redundancy.map((l) => `${l.a}-${l.b}`).join(', ')}`);
  return out.join('\n');
}
