/**
 * The GreTunnel provider. Create adds end A's port, then end B's (each one ovs-vsctl
 * transaction under that host's lock), then seeds each end's tunnel neighbour cache with the
 * other end's underlay MAC (LAB-NOTES: an empty cache loses the first ~7 ms of a stream).
 * If end B fails, end A is rolled back: a tunnel is one resource. Delete removes each end's
 * port, then its neighbour entry unless another tunnel on that host still sends to the same
 * remote; OVS can only flush the whole cache, so that happens only when no tunnel on the host
 * uses it any more (`tnlNeighRelease`), else the unused entry ages out. A changed remote or
 * underlay bridge replaces the tunnel, so the old entry goes with the old resource's delete.
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith } from '../common/check';
import { joinConnection } from '../common/connection-input';
import { OWNER_KEY, keepOwner } from '../common/owner';
import { progressSink } from '../common/progress';
import { rollBack } from '../common/rollback';
import { PROVIDER_VERSION } from '../common/version';
import * as schemas from '../common/schemas';
import { getRunner, withHostLock, type CommandRunner } from '../exec';
import {
  VsctlTxn,
  deterministicName,
  macInUse,
  parseBridgeName,
  parseInterfaceName,
  parseIpv4,
  parseMac,
  parseOfPortNumber,
  portInfo,
  tnlNeighRelease,
  tnlNeighSet,
} from '../ovs';
import type { GreTunnelInputs, GreTunnelOutputs, TunnelEnd } from './types';

const END = z
  .object({
    connection: schemas.connection,
    bridge: schemas.ifaceName('bridge'),
    remoteIp: schemas.ipv4('remoteIp'),
    underlayBridge: schemas.ifaceName('underlayBridge').default('br0'),
    portName: schemas.ifaceName('portName').optional(),
    ofport: schemas.ofport('ofport').optional(),
  })
  .strict();

const INPUTS = z
  .object({
    a: END,
    b: END,
    aPrivateKey: schemas.privateKey,
    bPrivateKey: schemas.privateKey,
    aPassphrase: schemas.passphrase,
    bPassphrase: schemas.passphrase,
    owner: schemas.owner,
    key: z.number().int().min(0, 'key must be 0..4294967295').max(0xffffffff, 'key must be 0..4294967295').optional(),
    bfd: z
      .object({
        minTxMs: z.number().int().min(1).max(60000).optional(),
        minRxMs: z.number().int().min(1).max(60000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .transform((v) => ({
    ...v,
    a: { ...v.a, portName: v.a.portName ?? defaultPortName(v.a.remoteIp, v.key) },
    b: { ...v.b, portName: v.b.portName ?? defaultPortName(v.b.remoteIp, v.key) },
  }))
  .superRefine((v, ctx) => {
    if (v.a.connection.host === v.b.connection.host && v.a.connection.netns === v.b.connection.netns) {
      ctx.addIssue({ code: 'custom', path: ['b', 'connection', 'host'], message: 'both ends are on the same host: a tunnel joins two hypervisors' });
    }
  });

function defaultPortName(remoteIp: string, key: number | undefined): string {
  return deterministicName('gre-', [remoteIp, String(key ?? '')]);
}

type Side = 'a' | 'b';
const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');

function runnerFor(p: GreTunnelInputs, side: Side): CommandRunner {
  return getRunner(joinConnection(p[side].connection, side === 'a' ? p.aPrivateKey : p.bPrivateKey, side === 'a' ? p.aPassphrase : p.bPassphrase));
}

async function addEnd(runner: CommandRunner, p: GreTunnelInputs, end: TunnelEnd): Promise<number> {
  const port = parseInterfaceName(end.portName, 'portName');
  const existing = await portInfo(runner, port);
  if (existing && existing.externalIds[OWNER_KEY] !== p.owner) {
    throw new Error(`${end.connection.host}: port "${end.portName}" exists and is not owned by this tunnel (vpm-owner=${existing.externalIds[OWNER_KEY] ?? 'none'}); choose another portName`);
  }
  await new VsctlTxn()
    .addPort(
      parseBridgeName(end.bridge, 'bridge'),
      port,
      { type: 'gre', remoteIp: parseIpv4(end.remoteIp, 'remoteIp'), ...(p.key !== undefined ? { key: p.key } : {}), ...(p.bfd ? { bfd: { enable: true, ...p.bfd } } : {}) },
      { mayExist: true, externalIds: { [OWNER_KEY]: p.owner }, ...(end.ofport ? { ofportRequest: parseOfPortNumber(end.ofport, 'ofport') } : {}) },
    )
    .run(runner);
  const info = await portInfo(runner, port);
  if (!info?.ofport || info.ofport < 1) {
    throw new Error(`${end.connection.host}: GRE port "${end.portName}" did not come up${info?.interface?.error ? `: ${info.interface.error}` : ''} (does bridge "${end.bridge}" exist?)`);
  }
  return info.ofport;
}

async function removeEnd(runner: CommandRunner, p: GreTunnelInputs, end: TunnelEnd): Promise<void> {
  const port = parseInterfaceName(end.portName, 'portName');
  const existing = await portInfo(runner, port);
  if (existing && existing.externalIds[OWNER_KEY] === p.owner) {
    await new VsctlTxn().delPort(port, { ifExists: true }).run(runner);
  }
}

/** The end's port (if this tunnel owns it), then the neighbour entry this tunnel set there. */
async function removeEndAndNeighbour(runner: CommandRunner, p: GreTunnelInputs, end: TunnelEnd): Promise<void> {
  await removeEnd(runner, p, end);
  const { left } = await tnlNeighRelease(runner, [{ bridge: parseBridgeName(end.underlayBridge, 'underlayBridge'), ip: parseIpv4(end.remoteIp, 'remoteIp') }]);
  for (const e of left) {
    progressSink().info(`tunnel ${p.a.portName}/${p.b.portName}: neighbour entry ${e.ip} on ${e.bridge} kept on ${end.connection.host} (OVS cannot delete one entry and a flush would interrupt the tunnels still using the cache; unused, it ages out, and the host's last tunnel flushes it)`);
  }
}

async function underlayMac(runner: CommandRunner, end: TunnelEnd): Promise<string> {
  return macInUse(runner, parseBridgeName(end.underlayBridge, 'underlayBridge'));
}

/**
 * Both ends up (idempotent), neighbours seeded; on any failure removes the ends this call
 * added (a failed create leaves no state behind, so whatever it left on a host is orphaned).
 */
async function converge(p: GreTunnelInputs): Promise<GreTunnelOutputs> {
  const ofports: Partial<Record<Side, number>> = {};
  const added: Side[] = [];
  try {
    for (const side of ['a', 'b'] as const) {
      const runner = runnerFor(p, side);
      ofports[side] = await withHostLock(p[side].connection, async () => {
        const before = await portInfo(runner, parseInterfaceName(p[side].portName, 'portName'));
        // Before addEnd: its transaction may add the port and then find it did not come up.
        if (!before) added.push(side);
        return addEnd(runner, p, p[side]);
      });
    }
    // Seed each end's neighbour cache with the other end's underlay MAC.
    const macs = await Promise.all((['a', 'b'] as const).map((s) => underlayMac(runnerFor(p, s), p[s])));
    // Under the host's lock: a release on the same host (read the cache, then flush it) must
    // not run between its read and its flush.
    await Promise.all(
      (['a', 'b'] as const).map((s, i) =>
        withHostLock(p[s].connection, () =>
          tnlNeighSet(runnerFor(p, s), parseBridgeName(p[s].underlayBridge, 'underlayBridge'), parseIpv4(p[s].remoteIp, 'remoteIp'), parseMac(macs[1 - i], 'mac')),
        ),
      ),
    );
  } catch (err) {
    // Take back the ends this step added; name any that could not be (rollback.ts).
    return rollBack(
      err,
      `creating tunnel ${p.a.portName}/${p.b.portName}`,
      added.map((side) => ({
        what: `GRE port ${p[side].portName} on ${p[side].bridge}`,
        where: p[side].connection.host,
        run: () => withHostLock(p[side].connection, () => removeEndAndNeighbour(runnerFor(p, side), p, p[side])),
      })),
    );
  }
  return { ...p, aOfport: ofports.a!, bOfport: ofports.b!, aPresent: true, bPresent: true, providerVersion: PROVIDER_VERSION };
}

async function observeEnd(p: GreTunnelInputs, side: Side): Promise<{ present: boolean; ofport: number }> {
  const end = p[side];
  const info = await portInfo(runnerFor(p, side), parseInterfaceName(end.portName, 'portName'));
  const present =
    !!info &&
    info.externalIds[OWNER_KEY] === p.owner &&
    info.bridge === end.bridge &&
    info.type === 'gre' &&
    info.options.remote_ip === end.remoteIp &&
    (info.options.key ?? undefined) === (p.key !== undefined ? String(p.key) : undefined);
  return { present, ofport: info?.ofport ?? -1 };
}

function endHostChanged(o: TunnelEnd, n: TunnelEnd): boolean {
  return o.connection.host !== n.connection.host || (o.connection.port ?? 22) !== (n.connection.port ?? 22) || o.connection.netns !== n.connection.netns;
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    return checkWith(INPUTS, keepOwner(olds, news));
  },

  async diff(_id, olds: GreTunnelOutputs, news: GreTunnelInputs) {
    const replaces: string[] = [];
    for (const side of ['a', 'b'] as const) {
      const o = olds[side];
      const n = news[side];
      if (endHostChanged(o, n)) replaces.push(`${side}.connection`);
      for (const k of ['bridge', 'remoteIp', 'portName', 'ofport', 'underlayBridge'] as const) if (o[k] !== n[k]) replaces.push(`${side}.${k}`);
    }
    if (olds.key !== news.key) replaces.push('key');
    if (olds.owner !== news.owner) replaces.push('owner');
    const changes =
      replaces.length > 0 ||
      JSON.stringify(olds.bfd ?? null) !== JSON.stringify(news.bfd ?? null) ||
      !olds.aPresent ||
      !olds.bPresent ||
      JSON.stringify([olds.a.connection, olds.b.connection, olds.aPrivateKey, olds.bPrivateKey, olds.aPassphrase, olds.bPassphrase]) !==
        JSON.stringify([news.a.connection, news.b.connection, news.aPrivateKey, news.bPrivateKey, news.aPassphrase, news.bPassphrase]) ||
      olds.providerVersion !== PROVIDER_VERSION;
    // A port name can exist once per host: a replacement that keeps a name must delete first.
    const clash = (['a', 'b'] as const).some((s) => !endHostChanged(olds[s], news[s]) && olds[s].portName === news[s].portName);
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && clash };
  },

  async create(inputs: GreTunnelInputs) {
    const outs = await converge(inputs);
    return { id: `${inputs.a.connection.host}/${inputs.a.portName}~${inputs.b.connection.host}/${inputs.b.portName}`, outs };
  },

  async read(id, props: GreTunnelOutputs) {
    const [a, b] = await Promise.all([observeEnd(props, 'a'), observeEnd(props, 'b')]);
    if (!a.present && !b.present) return { id: '', props: {} };
    return { id, props: { ...props, aPresent: a.present, bPresent: b.present, aOfport: a.ofport, bOfport: b.ofport } };
  },

  async update(_id, _olds: GreTunnelOutputs, news: GreTunnelInputs) {
    return { outs: await converge(news) };
  },

  async delete(_id, props: GreTunnelOutputs) {
    await Promise.all(
      (['a', 'b'] as const).map((side) => withHostLock(props[side].connection, () => removeEndAndNeighbour(runnerFor(props, side), props, props[side]))),
    );
  },
};
