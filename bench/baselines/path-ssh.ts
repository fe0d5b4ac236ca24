/**
 * The path-setup baseline of bench/path-latency.ts, run for real: the same chain's stream
 * flows (one per hop, the same match and actions as the FlowPath: in_port + UDP port ->
 * output, the leaf rewriting to the receiver) installed and removed by plain ssh from the
 * underlay namespace, in two forms:
 *   careful  one kept ssh connection per hypervisor (OpenSSH ControlMaster, opened before the
 *            timed runs, as VPM's pool is warm), every hop's `ovs-ofctl add-flow` at once;
 *   naive    one `ssh host ovs-ofctl add-flow` per hop on a new connection, hop after hop
 *            (what the former estimate assumed).
 * Removal: `ovs-ofctl del-flows br1 cookie=<baseline>/-1` on every hop, in the same form.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Inventory } from '../../lab/inventory';
import { mustRun, run } from '../lib/common';
import { BASELINE_COOKIE } from '../lib/tree';
import { q, sshWords } from './plain-ssh';

export interface HopFlow {
  readonly host: string;
  readonly ip: string;
  /** An `ovs-ofctl add-flow` spec for br1. */
  readonly flow: string;
}

export interface ChainPorts {
  readonly sourceOfport: number;
  readonly patchOfport: number;
  readonly greOfport: (peer: string) => number;
  readonly udpDst: number;
  readonly receiver: { ip: string; mac: string };
}

/** The stream flow of every hop of `chain` (host names), the leaf rewriting to the receiver. Pure. */
export function chainFlows(inventory: Inventory, chain: readonly string[], ports: ChainPorts): HopFlow[] {
  const hv = (name: string) => {
    const h = inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new Error(`no hypervisor ${name} in the lab`);
    return h;
  };
  const last = chain.length - 1;
  return chain.map((host, i) => {
    const inPort = i === 0 ? ports.sourceOfport : ports.greOfport(chain[i - 1]);
    const actions =
      i === last
        ? `set_field:${hv(host).mac}->eth_src,set_field:${ports.receiver.mac}->eth_dst,set_field:${ports.receiver.ip}->ip_dst,output:${ports.patchOfport}`
        : `output:${ports.greOfport(chain[i + 1])}`;
    return { host, ip: hv(host).ip, flow: `cookie=${BASELINE_COOKIE},priority=1000,udp,in_port=${inPort},tp_dst=${ports.udpDst},actions=${actions}` };
  });
}

export type Form = 'careful' | 'naive';

/** The bash script that runs `remote` on every hop in the given form. Pure. */
export function hopsScript(inventory: Inventory, hops: readonly { ip: string; remote: string }[], form: Form, controlDir: string): string {
  const user = inventory.hypervisors[0].user;
  const lines = ['#!/bin/bash', 'set -e'];
  if (form === 'careful') {
    lines.push('pids=()');
    for (const h of hops) lines.push(`${sshWords(inventory, { controlPath: path.join(controlDir, h.ip) }).map(q).join(' ')} ${user}@${h.ip} ${q(h.remote)} & pids+=($!)`);
    lines.push('rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc');
  } else {
    for (const h of hops) lines.push(`${sshWords(inventory).map(q).join(' ')} ${user}@${h.ip} ${q(h.remote)}`);
  }
  return lines.join('\n') + '\n';
}

/** Kept ssh connections (ControlMaster) to hypervisors, for the careful form. */
export class SshMasters {
  constructor(
    private readonly inventory: Inventory,
    readonly dir: string,
  ) {}

  async open(ips: readonly string[]): Promise<void> {
    const user = this.inventory.hypervisors[0].user;
    // -f: ssh goes to the background once logged in; the master then serves every later ssh.
    await Promise.all(ips.map((ip) => mustRun(['ip', 'netns', 'exec', this.inventory.underlay.netns, ...sshWords(this.inventory, { controlPath: path.join(this.dir, ip), master: true }), '-f', '-N', `${user}@${ip}`], { timeoutMs: 60_000 })));
  }

  /** Ends the masters (`ssh -O exit`), only ours (by their control sockets). */
  async close(): Promise<void> {
    const user = this.inventory.hypervisors[0].user;
    const sockets = (fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    for (const ip of sockets) {
      await run(['ip', 'netns', 'exec', this.inventory.underlay.netns, 'ssh', '-o', `ControlPath=${path.join(this.dir, ip)}`, '-O', 'exit', `${user}@${ip}`], { timeoutMs: 10_000 }).catch(() => undefined);
    }
  }
}

/** Runs the script of `hops` in the underlay namespace; resolves when every ssh returned. */
export async function runHops(inventory: Inventory, hops: readonly { ip: string; remote: string }[], form: Form, masters: SshMasters, tag: string): Promise<void> {
  const file = path.join(masters.dir, `${tag}-${form}.sh`);
  fs.writeFileSync(file, hopsScript(inventory, hops, form, masters.dir), { mode: 0o755 });
  await mustRun(['ip', 'netns', 'exec', inventory.underlay.netns, 'bash', file], { timeoutMs: 120_000 });
}

export const installRemote = (f: HopFlow) => ({ ip: f.ip, remote: ['ovs-ofctl', 'add-flow', 'br1', f.flow].map(q).join(' ') });
export const removeRemote = (f: HopFlow) => ({ ip: f.ip, remote: ['ovs-ofctl', 'del-flows', 'br1', `cookie=${BASELINE_COOKIE}/-1`].map(q).join(' ') });
