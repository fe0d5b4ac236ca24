/**
 * Baseline (a): the convergence as a shell script over plain ssh, from a machine on the
 * hypervisors' network (the lab's underlay namespace), in two forms:
 *   careful  what a careful operator writes: one ssh session per host (one connection), in it
 *            ONE `ovs-vsctl` transaction with every bridge/port change of the host (`--`
 *            chained), br0's rule, the tunnel neighbour entries, and ONE
 *            `ovs-ofctl --bundle add-flows` with all of the host's flows from stdin; hosts in
 *            parallel (runCarefulSsh, hostScript);
 *   naive    one `ssh host ovs-vsctl|ovs-ofctl|ovs-appctl ...` per change, new connection each,
 *            host after host (runPlainSsh, scriptLines): kept as a second, labelled row.
 * Order in both: bridges, patch ports, br0's rule, internal ports, GRE ports with BFD as VPM
 * sets it (+ the tunnel neighbour entries VPM seeds), then the flows of every hop. Every command is idempotent
 * (--may-exist, add-flow replaces), so a re-run converges again; it re-sends everything (a
 * script does not look first).
 *
 * The end state equals the StreamingTree's (same bridge, ports, port numbers, BFD on every GRE
 * interface with VPM's intervals, per-hop stream flows), except that a fan-out is one flow with several outputs rather than an OpenFlow group
 * with ownership markers, and nothing is tagged with an owner.
 *
 * Standalone, on a running lab: node dist/bench/baselines/plain-ssh.js N  (each form: runs, re-runs, tears down)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory, type Inventory } from '../../lab/inventory';
import { decodeString, decodeStringMap, parseOvsdbTables } from '../../providers/ovs';
import { mustRun, run } from '../lib/common';
import {
  BASELINE_COOKIE,
  OVERLAY_BRIDGE,
  PATCH_OFPORT,
  PATCH_OVERLAY,
  PATCH_PHYSICAL,
  PHYSICAL_BRIDGE,
  PROTOCOLS,
  STATIC_RULE,
  bfdSettings,
  desiredState,
  planFor,
  type HostState,
} from '../lib/tree';

/** Single-quotes a word for the remote shell. */
export const q = (s: string) => (/^[A-Za-z0-9_.,:=/+@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface ScriptLine {
  readonly host: string;
  readonly phase: 'bridges' | 'patch ports' | 'tunnels' | 'flows';
  /** The remote command (one ssh each). */
  readonly remote: string;
}

/**
 * A GRE interface's settings as both scripts write them: type, remote end, port number and
 * BFD as VPM sets it (`bfd:enable=true bfd:min_tx=10 bfd:min_rx=10` by default: the same
 * column values as VPM's `bfd={enable=true,min_tx=10,min_rx=10}` on a new interface).
 */
export function greSettings(g: HostState['grePorts'][number]): string[] {
  return ['type=gre', `options:remote_ip=${g.remoteIp}`, `ofport_request=${g.ofport}`, ...bfdSettings(g.bfd)];
}

/** The script's changes in the order an operator runs them: per phase, host after host. */
export function scriptLines(state: readonly HostState[]): ScriptLine[] {
  const lines: ScriptLine[] = [];
  const add = (host: string, phase: ScriptLine['phase'], words: string[]) => lines.push({ host, phase, remote: words.map(q).join(' ') });
  for (const h of state) {
    add(h.ip, 'bridges', ['ovs-vsctl', '--may-exist', 'add-br', OVERLAY_BRIDGE, '--', 'set', 'bridge', OVERLAY_BRIDGE, 'datapath_type=netdev', 'fail_mode=secure', `protocols=${PROTOCOLS}`]);
  }
  for (const h of state) {
    add(h.ip, 'patch ports', ['ovs-vsctl', '--may-exist', 'add-port', OVERLAY_BRIDGE, PATCH_OVERLAY, '--', 'set', 'interface', PATCH_OVERLAY, 'type=patch', `options:peer=${PATCH_PHYSICAL}`, `ofport_request=${PATCH_OFPORT}`]);
    add(h.ip, 'patch ports', ['ovs-vsctl', '--may-exist', 'add-port', PHYSICAL_BRIDGE, PATCH_PHYSICAL, '--', 'set', 'interface', PATCH_PHYSICAL, 'type=patch', `options:peer=${PATCH_OVERLAY}`]);
    add(h.ip, 'patch ports', ['ovs-ofctl', 'add-flow', PHYSICAL_BRIDGE, STATIC_RULE]);
    for (const p of h.internalPorts) {
      add(h.ip, 'patch ports', ['ovs-vsctl', '--may-exist', 'add-port', OVERLAY_BRIDGE, p.name, '--', 'set', 'interface', p.name, 'type=internal', `ofport_request=${p.ofport}`]);
    }
  }
  for (const h of state) {
    for (const g of h.grePorts) {
      add(h.ip, 'tunnels', ['ovs-vsctl', '--may-exist', 'add-port', OVERLAY_BRIDGE, g.name, '--', 'set', 'interface', g.name, ...greSettings(g)]);
    }
    for (const n of h.neighbours) add(h.ip, 'tunnels', ['ovs-appctl', 'tnl/neigh/set', PHYSICAL_BRIDGE, n.ip, n.mac]);
  }
  for (const h of state) for (const f of h.flows) add(h.ip, 'flows', ['ovs-ofctl', 'add-flow', OVERLAY_BRIDGE, f]);
  return lines;
}

/**
 * The careful form's remote script for one host (run by `bash -s` in ONE ssh session): one
 * ovs-vsctl transaction, br0's rule, the neighbour entries, one bundle of flows. Pure.
 */
export function hostScript(h: HostState): string {
  const vsctl: string[][] = [
    ['--may-exist', 'add-br', OVERLAY_BRIDGE, '--', 'set', 'bridge', OVERLAY_BRIDGE, 'datapath_type=netdev', 'fail_mode=secure', `protocols=${PROTOCOLS}`],
    ['--may-exist', 'add-port', OVERLAY_BRIDGE, PATCH_OVERLAY, '--', 'set', 'interface', PATCH_OVERLAY, 'type=patch', `options:peer=${PATCH_PHYSICAL}`, `ofport_request=${PATCH_OFPORT}`],
    ['--may-exist', 'add-port', PHYSICAL_BRIDGE, PATCH_PHYSICAL, '--', 'set', 'interface', PATCH_PHYSICAL, 'type=patch', `options:peer=${PATCH_OVERLAY}`],
    ...h.internalPorts.map((p) => ['--may-exist', 'add-port', OVERLAY_BRIDGE, p.name, '--', 'set', 'interface', p.name, 'type=internal', `ofport_request=${p.ofport}`]),
    ...h.grePorts.map((g) => ['--may-exist', 'add-port', OVERLAY_BRIDGE, g.name, '--', 'set', 'interface', g.name, ...greSettings(g)]),
  ];
  const lines = [
    'set -e',
    ['ovs-vsctl', ...vsctl.flatMap((words, i) => (i === 0 ? words : ['--', ...words]))].map(q).join(' '),
    ['ovs-ofctl', 'add-flow', PHYSICAL_BRIDGE, STATIC_RULE].map(q).join(' '),
    ...h.neighbours.map((n) => ['ovs-appctl', 'tnl/neigh/set', PHYSICAL_BRIDGE, n.ip, n.mac].map(q).join(' ') + ' >/dev/null'),
  ];
  if (h.flows.length) lines.push(`ovs-ofctl -O OpenFlow14 --bundle add-flows ${OVERLAY_BRIDGE} - <<'FLOWS'`, ...h.flows, 'FLOWS');
  return lines.join('\n') + '\n';
}

/** Remote commands of the careful form on one host (process starts, not ssh sessions). */
export function carefulCommands(h: HostState): number {
  return 2 + h.neighbours.length + (h.flows.length ? 1 : 0);
}

/**
 * Runs the careful form: every host's script through one ssh session, all hosts at once
 * (bash `&` + `wait`, failing if any host failed), inside the underlay namespace.
 */
export async function runCarefulSsh(inventory: Inventory, state: readonly HostState[], workDir: string): Promise<PlainRun> {
  const user = inventory.hypervisors[0].user;
  const ssh = sshWords(inventory).map(q).join(' ');
  const body: string[] = ['#!/bin/bash', '# Generated by bench/baselines/plain-ssh.ts (careful form): one ssh session per host, hosts in parallel.', 'set -e', 'pids=()'];
  for (const h of state) {
    const file = path.join(workDir, `careful-${h.host}.sh`);
    fs.writeFileSync(file, hostScript(h));
    body.push(`${ssh} ${user}@${h.ip} bash -s < ${q(file)} & pids+=($!)`);
  }
  body.push('rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc', '');
  const file = path.join(workDir, 'careful-ssh.sh');
  fs.writeFileSync(file, body.join('\n'), { mode: 0o755 });
  const r = await mustRun(['ip', 'netns', 'exec', inventory.underlay.netns, 'bash', file], { timeoutMs: 600_000 });
  const nameOf = new Map(inventory.hypervisors.map((h) => [h.ip, h.name]));
  const perHost = Object.fromEntries(state.map((h) => [nameOf.get(h.ip) ?? h.host, carefulCommands(h)]));
  return { wallMs: r.ms, commands: Object.values(perHost).reduce((a, b) => a + b, 0), commandsPerHost: perHost, sshConnections: state.length, phasesMs: {} };
}

/**
 * ssh's argv for the lab's hypervisors. Without `controlPath`: a new connection per command.
 * With it: commands ride the master connection at that path (ssh takes the FIRST value of an
 * option, so the connection options are chosen here, never appended).
 */
export function sshWords(inventory: Inventory, o: { controlPath?: string; master?: boolean } = {}): string[] {
  const control = o.controlPath
    ? ['-o', `ControlMaster=${o.master ? 'yes' : 'no'}`, '-o', `ControlPath=${o.controlPath}`, ...(o.master ? ['-o', 'ControlPersist=600'] : [])]
    : ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
  return ['ssh', '-F', '/dev/null', '-i', inventory.privateKeyPath, '-o', `UserKnownHostsFile=${inventory.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', ...control];
}

/** The shell script itself (bash -e), one ssh per line. */
export function scriptText(inventory: Inventory, lines: readonly ScriptLine[]): string {
  const user = inventory.hypervisors[0].user;
  const ssh = sshWords(inventory).map(q).join(' ');
  return ['#!/bin/bash', '# Generated by bench/baselines/plain-ssh.ts: one ssh per change, in order.', 'set -e', ...lines.map((l) => `${ssh} ${user}@${l.host} ${q(l.remote)}`), ''].join('\n');
}

export interface PlainRun {
  readonly wallMs: number;
  readonly commands: number;
  readonly commandsPerHost: Record<string, number>;
  /** One SSH connection per command. */
  readonly sshConnections: number;
  readonly phasesMs: Record<string, number>;
}

/**
 * Runs the script inside the underlay namespace; phase times come from timestamps the
 * script itself prints between phases (no per-line overhead).
 */
export async function runPlainSsh(inventory: Inventory, state: readonly HostState[], workDir: string): Promise<PlainRun> {
  const lines = scriptLines(state);
  const user = inventory.hypervisors[0].user;
  const ssh = sshWords(inventory).map(q).join(' ');
  const body: string[] = ['#!/bin/bash', 'set -e'];
  let phase = '';
  for (const l of lines) {
    if (l.phase !== phase) {
      body.push(`echo "phase ${l.phase.replace(/ /g, '_')} $(date +%s%N)"`);
      phase = l.phase;
    }
    body.push(`${ssh} ${user}@${l.host} ${q(l.remote)}`);
  }
  body.push('echo "phase end $(date +%s%N)"', '');
  const file = path.join(workDir, 'plain-ssh.sh');
  fs.writeFileSync(file, body.join('\n'), { mode: 0o755 });
  fs.writeFileSync(path.join(workDir, 'plain-ssh.clean.sh'), scriptText(inventory, lines), { mode: 0o755 });
  const r = await mustRun(['ip', 'netns', 'exec', inventory.underlay.netns, 'bash', file], { timeoutMs: 600_000 });
  const marks = [...r.stdout.matchAll(/^phase (\S+) (\d+)$/gm)].map((m) => ({ phase: m[1].replace(/_/g, ' '), ns: BigInt(m[2]) }));
  const phasesMs: Record<string, number> = {};
  for (let i = 0; i + 1 < marks.length; i++) phasesMs[marks[i].phase] = Number(marks[i + 1].ns - marks[i].ns) / 1e6;
  const perHost: Record<string, number> = {};
  const nameOf = new Map(inventory.hypervisors.map((h) => [h.ip, h.name]));
  for (const l of lines) perHost[nameOf.get(l.host) ?? l.host] = (perHost[nameOf.get(l.host) ?? l.host] ?? 0) + 1;
  return { wallMs: r.ms, commands: lines.length, commandsPerHost: perHost, sshConnections: lines.length, phasesMs };
}

/**
 * Removes the overlay's own state from every listed hypervisor (one ssh each, not measured):
 * br1 with all its ports and flows, br0's patch port, the baselines' br0 rule, the tunnel
 * neighbour cache. VPM's br0 rule goes with `pulumi destroy`.
 */
export async function teardownOverlay(inventory: Inventory, hosts: readonly string[]): Promise<void> {
  const user = inventory.hypervisors[0].user;
  await Promise.all(
    hosts.map(async (name) => {
      const h = inventory.hypervisors.find((x) => x.name === name)!;
      const remote = [
        `ovs-vsctl --if-exists del-br ${OVERLAY_BRIDGE} -- --if-exists del-port ${PHYSICAL_BRIDGE} ${PATCH_PHYSICAL}`,
        `ovs-ofctl del-flows ${PHYSICAL_BRIDGE} cookie=${BASELINE_COOKIE}/-1`,
        'ovs-appctl tnl/neigh/flush >/dev/null',
      ].join(' && ');
      await mustRun(['ip', 'netns', 'exec', inventory.underlay.netns, ...sshWords(inventory), `${user}@${h.ip}`, remote], { timeoutMs: 60_000 });
    }),
  );
}

/**
 * What a hypervisor holds of the overlay, for the end-state checks: br1's ports, the number of
 * its stream flows (priority 1000 in table 0), and each of its GRE interfaces' `bfd` column
 * (a baseline without BFD, or with other intervals, differs from VPM here).
 */
export interface OverlayState {
  readonly ports: string[];
  readonly flows: number;
  /** GRE interface of br1 -> its bfd column (empty when BFD is not set). */
  readonly bfd: Record<string, Record<string, string>>;
}

/** The remote read behind overlayOn: ports, --- , table 0's flows, --- , the GRE interfaces' name and bfd (JSON). */
export const OVERLAY_READ = `ovs-vsctl list-ports ${OVERLAY_BRIDGE} && echo --- && ovs-ofctl -O OpenFlow15 dump-flows ${OVERLAY_BRIDGE} table=0 && echo --- && ovs-vsctl --format=json --columns=name,bfd find Interface type=gre`;

/** Parses OVERLAY_READ's output (pure). GRE interfaces on other bridges than br1 are left out. */
export function parseOverlay(stdout: string): OverlayState {
  const [portsText, flowsText, greText] = stdout.split('---\n');
  const ports = portsText.split('\n').filter(Boolean).sort();
  const bfd: Record<string, Record<string, string>> = {};
  for (const table of parseOvsdbTables(greText ?? '')) {
    for (const row of table.rows) {
      const name = decodeString(row.name);
      if (!ports.includes(name)) continue;
      const column = decodeStringMap(row.bfd);
      bfd[name] = Object.fromEntries(Object.keys(column).sort().map((k) => [k, column[k]]));
    }
  }
  return {
    ports,
    flows: (flowsText ?? '').split('\n').filter((l) => /priority=1000/.test(l)).length,
    bfd: Object.fromEntries(Object.keys(bfd).sort().map((k) => [k, bfd[k]])),
  };
}

/** What a hypervisor holds of the overlay now (for checks), or undefined when it cannot be read. */
export async function overlayOn(inventory: Inventory, name: string): Promise<OverlayState | undefined> {
  const h = inventory.hypervisors.find((x) => x.name === name)!;
  const r = await run(['ip', 'netns', 'exec', inventory.underlay.netns, ...sshWords(inventory), `${h.user}@${h.ip}`, OVERLAY_READ], { timeoutMs: 30_000 });
  if (r.code !== 0) return undefined;
  return parseOverlay(r.stdout);
}

/** Overlays per host (null: could not be read). */
export type OverlaySnapshot = Record<string, OverlayState | null>;

/** Whether two snapshots hold the same overlay: per host the same ports, flow count and GRE bfd columns (key order aside). */
export function sameOverlay(a: OverlaySnapshot, b: OverlaySnapshot): boolean {
  return overlayDifferences(a, b).length === 0;
}

/** What differs between two snapshots, one line per host and aspect (empty: the same). */
export function overlayDifferences(a: OverlaySnapshot, b: OverlaySnapshot): string[] {
  const out: string[] = [];
  const canon = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));
  for (const host of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[host];
    const y = b[host];
    if (!x || !y) {
      if (x !== y) out.push(`${host}: ${x ? 'only the first' : 'only the second'} could be read`);
      continue;
    }
    if (canon(x.ports) !== canon(y.ports)) out.push(`${host}: ports ${x.ports.join(',')} vs ${y.ports.join(',')}`);
    if (x.flows !== y.flows) out.push(`${host}: ${x.flows} vs ${y.flows} stream flows`);
    for (const port of [...new Set([...Object.keys(x.bfd ?? {}), ...Object.keys(y.bfd ?? {})])].sort()) {
      const bx = canon(x.bfd?.[port] ?? {});
      const by = canon(y.bfd?.[port] ?? {});
      if (bx !== by) out.push(`${host}: ${port} bfd ${bx} vs ${by}`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? '4');
  const inventory = readInventory();
  const state = desiredState(planFor(n, inventory), inventory);
  const dir = fs.mkdtempSync('/tmp/vpm-plain-');
  const hosts = state.map((s) => s.host);
  const careful = { first: await runCarefulSsh(inventory, state, dir), again: await runCarefulSsh(inventory, state, dir), converged: await Promise.all(hosts.map((h) => overlayOn(inventory, h))) };
  await teardownOverlay(inventory, hosts);
  const naive = { first: await runPlainSsh(inventory, state, dir), again: await runPlainSsh(inventory, state, dir), converged: await Promise.all(hosts.map((h) => overlayOn(inventory, h))) };
  await teardownOverlay(inventory, hosts);
  console.log(JSON.stringify({ n, careful, naive, scripts: dir }, null, 2));
  if (JSON.stringify(careful.converged) !== JSON.stringify(naive.converged)) throw new Error('the careful and the naive script converged to different overlays');
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
