/**
 * The GreTunnel provider. Create sets both ends up at once, each in ONE round trip to its
 * host (exec/batch.ts): a guard (the port is absent or carries our owner mark), one ovs-vsctl
 * transaction, a read-back of the port, the host's underlay MAC, and the seed of the host's
 * tunnel neighbour cache with the OTHER end's underlay MAC (LAB-NOTES: an empty cache loses
 * the first ~7 ms of a stream). That MAC comes from ovs/underlay-macs.ts, remembered when the
 * other host's OvsBridge (or an earlier tunnel end there) ran in this process; when it is not
 * known, the seed follows in a second round trip with the MAC the other end's batch read.
 * If either end fails, the ends this create added are rolled back: a tunnel is one resource.
 *
 * End creates on one host group-commit (`endCommits`): while one is in flight there, the ends
 * that arrive for the same host wait and then go together in ONE command (their guards, ONE
 * ovs-vsctl transaction adding all their ports, one read-back, the MAC, their seeds). Each
 * ovs-vsctl transaction makes ovs-vswitchd reconfigure the whole bridge: one by one, the
 * bench's 64-hypervisor relay (62 GRE ports with BFD) took ~3 ends a second. A foreign port or
 * a failed step sends the group's ends alone again, each to its own outcome and error.
 *
 * Delete removes each end's port, then its neighbour entry unless another tunnel on that host
 * still sends to the same remote; OVS can only flush the whole cache, so that happens only
 * when no tunnel on the host uses it any more (`releaseFromReads`), else the unused entry ages
 * out. Port removal and the reads the release decides on are one batch; the flush, when due,
 * is one more command. A changed remote or underlay bridge replaces the tunnel, so the old
 * entry goes with the old resource's delete.
 *
 * The host lock guards one shared object: the host's tunnel neighbour cache. A release reads
 * it and may flush it, so nothing may seed it in between (an entry set there would be flushed
 * and lost): a release holds the host's lock exclusively, a create end holds it shared (seeds
 * commute with each other), so the ends of independent tunnels on one relay run together.
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
import {
  BatchStepError,
  GUARD_EXIT,
  GroupCommit,
  RemoteCommandError,
  getRunner,
  poolKey,
  resolveConnection,
  runBatch,
  withHostLock,
  type BatchResult,
  type BatchStep,
  type CommandRunner,
  type ConnectionSpec,
} from '../exec';
import {
  VsctlTxn,
  absentOrOwnedStep,
  deterministicName,
  guardFoundRow,
  hostReadStep,
  knownUnderlayMac,
  macInUseStep,
  noTunnelLeftStep,
  parseBridgeName,
  parseHostRead,
  parseMacInUse,
  parseTunnelRemoteIps,
  rememberUnderlayMac,
  releaseFromReads,
  tnlNeighFlushStep,
  tnlNeighShowStep,
  tnlNeighSetStep,
  tunnelRemoteIpsStep,
  type HostRead,
  type HostReadRequest,
  type InterfaceName,
  type Mac,
  parseInterfaceName,
  parseIpv4,
  parseMac,
  parseOfPortNumber,
  portInfo,
  tnlNeighRelease,
  tnlNeighSet,
} from '../ovs';

const TAG = 'tunnel';
import type { GreTunnelInputs, GreTunnelOutputs, TunnelEnd } from './types';
import { readHostSnapshot } from '../ovs/host-view';

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

function specFor(p: GreTunnelInputs, side: Side): ConnectionSpec {
  return joinConnection(p[side].connection, side === 'a' ? p.aPrivateKey : p.bPrivateKey, side === 'a' ? p.aPassphrase : p.bPassphrase);
}

function runnerFor(p: GreTunnelInputs, side: Side): CommandRunner {
  return getRunner(specFor(p, side));
}

function foreignPort(end: TunnelEnd, owner: string | undefined): Error {
  return new Error(`${end.connection.host}: port "${end.portName}" exists and is not owned by this tunnel (vpm-owner=${owner ?? 'none'}); choose another portName`);
}

/** Adds this end's GRE port (with BFD, owner mark and OpenFlow number) to `txn`. */
function addEndTo(txn: VsctlTxn, p: GreTunnelInputs, end: TunnelEnd): VsctlTxn {
  return txn.addPort(
    parseBridgeName(end.bridge, 'bridge'),
    parseInterfaceName(end.portName, 'portName'),
    { type: 'gre', remoteIp: parseIpv4(end.remoteIp, 'remoteIp'), ...(p.key !== undefined ? { key: p.key } : {}), ...(p.bfd ? { bfd: { enable: true, ...p.bfd } } : {}) },
    { mayExist: true, externalIds: { [OWNER_KEY]: p.owner }, ...(end.ofport ? { ofportRequest: parseOfPortNumber(end.ofport, 'ofport') } : {}) },
  );
}

const underlayOf = (end: TunnelEnd) => parseBridgeName(end.underlayBridge, 'underlayBridge');

/** What one end's create found. */
interface EndUp {
  readonly ofport: number;
  /** This host's underlay MAC (the other end's cache is seeded with it). */
  readonly mac: Mac;
  /** Whether this end's cache was seeded in its own batch. */
  readonly seeded: boolean;
}

/** One end to create: what its command needs, and the create's rollback list. */
interface EndJob {
  readonly p: GreTunnelInputs;
  readonly side: Side;
  readonly end: TunnelEnd;
  readonly runner: CommandRunner;
  readonly port: InterfaceName;
  /** The far end's underlay MAC when known: this host's cache is seeded in the same command. */
  readonly farMac: Mac | undefined;
  /** The ends the create may have added, for its rollback (see converge). */
  readonly added: Side[];
}

/** This end's port may have been added by its create (listed once: rollback removes it once). */
function mayHaveAdded(job: EndJob): void {
  if (!job.added.includes(job.side)) job.added.push(job.side);
}

/**
 * The ONE command that creates these ends on their (common) host: each end's guard (the port
 * is absent or carries its owner mark), ONE ovs-vsctl transaction adding every port, one host
 * read of all the ports, the underlay MAC (one read per underlay bridge), and the neighbour
 * seeds whose far MAC is known. For one end these are exactly its steps alone; the guards
 * come first, so a failing guard stops the command before anything changed.
 */
function endSteps(jobs: readonly EndJob[]): { steps: BatchStep[]; req: HostReadRequest; read: number; macAt: ReadonlyMap<string, number> } {
  const txn = new VsctlTxn();
  for (const j of jobs) addEndTo(txn, j.p, j.end);
  const req = { bridges: [], ports: jobs.map((j) => j.port) };
  const underlays = [...new Set(jobs.map((j) => underlayOf(j.end)))];
  const steps: BatchStep[] = [
    ...jobs.map((j) => absentOrOwnedStep('Port', j.port, OWNER_KEY, j.p.owner)),
    txn.step(),
    hostReadStep(req),
    ...underlays.map((u) => macInUseStep(u)),
    ...jobs.flatMap((j) => (j.farMac ? [tnlNeighSetStep(underlayOf(j.end), parseIpv4(j.end.remoteIp, 'remoteIp'), j.farMac)] : [])),
  ];
  const read = jobs.length + 1;
  return { steps, req, read, macAt: new Map(underlays.map((u, i) => [u, read + 1 + i])) };
}

/** One end's outcome from its command's guard and reads. */
function endUp(job: EndJob, guard: BatchResult, read: HostRead, macStdout: string): EndUp {
  if (!guardFoundRow(guard)) mayHaveAdded(job);
  const { end } = job;
  const info = read.ports.get(job.port);
  if (!info?.ofport || info.ofport < 1) {
    throw new Error(`${end.connection.host}: GRE port "${end.portName}" did not come up${info?.interface?.error ? `: ${info.interface.error}` : ''} (does bridge "${end.bridge}" exist?)`);
  }
  const mac = parseMacInUse(macStdout);
  rememberUnderlayMac(end.connection, underlayOf(end), mac);
  return { ofport: info.ofport, mac, seeded: job.farMac !== undefined };
}

/** One end up, idempotently, in ONE round trip of its own (see the module header). */
async function createEndAlone(job: EndJob): Promise<EndUp> {
  const { steps, req, read, macAt } = endSteps([job]);
  return withHostLock(
    job.end.connection,
    async () => {
      let results: BatchResult[];
      try {
        results = await runBatch(job.runner, steps, { tag: TAG });
      } catch (err) {
        if (err instanceof BatchStepError && err.step > 0 && !guardFoundRow(err.results[0])) mayHaveAdded(job);
        if (err instanceof BatchStepError && err.step === 0 && err.exitCode === GUARD_EXIT) {
          // Off the normal path: read the port again to name its owner (a second round trip).
          const info = await portInfo(job.runner, job.port, { tag: TAG });
          throw foreignPort(job.end, info?.externalIds[OWNER_KEY]);
        }
        throw err;
      }
      return endUp(job, results[0], parseHostRead(job.runner.host, req, results[read]), results[macAt.get(underlayOf(job.end))!].stdout);
    },
    { shared: true },
  );
}

/** `fn`'s value or error as a settled outcome (one member's, beside the others'). */
function settle<R>(fn: () => R): PromiseSettledResult<R> {
  try {
    return { status: 'fulfilled', value: fn() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/**
 * Ends on one host that came together (endCommits): ONE command for all of them (endSteps),
 * each end settled on its own. Off the normal path — a guard found a foreign port, or a step
 * failed — every end runs again alone (idempotent: a port the command did add now carries its
 * owner mark), so each gets the outcome and error it would have had alone. A failure of the
 * transport fails them all alike, as it would have failed each.
 */
async function createEndsTogether(jobs: readonly EndJob[]): Promise<Array<PromiseSettledResult<EndUp>>> {
  if (jobs.length === 1) return Promise.allSettled([createEndAlone(jobs[0])]);
  if (new Set(jobs.map((j) => j.port)).size < jobs.length) {
    // Two creates of one port name (two resources claiming it): one after the other, so the
    // second meets the first's port as it would have anyway, never one transaction for both.
    const out: Array<PromiseSettledResult<EndUp>> = [];
    for (const j of jobs) out.push(...(await Promise.allSettled([createEndAlone(j)])));
    return out;
  }
  const { steps, req, read, macAt } = endSteps(jobs);
  const runner = jobs[0].runner;
  let results: BatchResult[];
  try {
    // Shared, as each end's own create holds it (module header): seeds commute with seeds.
    results = await withHostLock(jobs[0].end.connection, () => runBatch(runner, steps, { tag: TAG }), { shared: true });
  } catch (err) {
    if (!(err instanceof BatchStepError)) throw err;
    // Past the guards the transaction may have run: the ends that were absent may be ours now.
    if (err.step >= jobs.length) {
      jobs.forEach((j, i) => {
        if (!guardFoundRow(err.results[i])) mayHaveAdded(j);
      });
    }
    return Promise.allSettled(jobs.map(createEndAlone));
  }
  const found = settle(() => parseHostRead(runner.host, req, results[read]));
  return jobs.map((j, i) =>
    settle(() => {
      if (found.status === 'rejected') {
        if (!guardFoundRow(results[i])) mayHaveAdded(j);
        throw found.reason;
      }
      return endUp(j, results[i], found.value, results[macAt.get(underlayOf(j.end))!].stdout);
    }),
  );
}

/**
 * Group commit of end creates per host (exec/group-commit.ts): an end whose host has no create
 * in flight goes out at once; ends that arrive meanwhile go together in the next command, so a
 * relay with many tunnels reconfigures its bridge once per burst instead of once per tunnel
 * (one ovs-vsctl add-port makes ovs-vswitchd rework every port of the bridge). The key is the
 * pooled connection's, so the members would share one SSH connection (and host lock) anyway.
 */
const endCommits = new GroupCommit<EndJob, EndUp>(createEndsTogether);

/**
 * One end up, idempotently, in one round trip, together with other ends created on the same
 * host at the same time (see endCommits). `added` learns when this call may have added the
 * port (it was absent before), for the caller's rollback.
 */
async function createEnd(p: GreTunnelInputs, side: Side, added: Side[]): Promise<EndUp> {
  const end = p[side];
  const far = p[other(side)];
  const spec = specFor(p, side);
  const job: EndJob = {
    p,
    side,
    end,
    runner: getRunner(spec),
    port: parseInterfaceName(end.portName, 'portName'),
    farMac: knownUnderlayMac(far.connection, underlayOf(far)),
    added,
  };
  endSteps([job]); // validates this end's values now: a bad one fails its own create, never a group
  return endCommits.submit(poolKey(resolveConnection(spec)), job);
}

/**
 * The end's port (if this tunnel owns it), then the neighbour entry this tunnel set there, in
 * ONE batch: guard, port removal, the reads the release decides on, and — when no tunnel is
 * left on the host (a guard) — the flush. When tunnels remain the batch stops at that guard
 * and the reads decide; a flush is then due only if none of the remaining tunnels' remotes is
 * cached (one more command, rare). Holds the host's lock exclusively from the reads to the
 * flush (see the module header).
 */
async function removeEndAndNeighbour(runner: CommandRunner, p: GreTunnelInputs, end: TunnelEnd): Promise<void> {
  const port = parseInterfaceName(end.portName, 'portName');
  const keys = [{ bridge: underlayOf(end), ip: parseIpv4(end.remoteIp, 'remoteIp') }];
  // Any exit of show and flush: releaseFromReads tells "no ovs-vswitchd" (nothing cached) from a real failure.
  const anyExit = [0, 1, 2];
  const steps: BatchStep[] = [
    absentOrOwnedStep('Port', port, OWNER_KEY, p.owner),
    new VsctlTxn().delPort(port, { ifExists: true }).step(),
    tunnelRemoteIpsStep(),
    { ...tnlNeighShowStep(), okExitCodes: anyExit },
    noTunnelLeftStep(),
    { ...tnlNeighFlushStep(), okExitCodes: anyExit },
  ];
  const NO_TUNNEL_LEFT = 4;
  const { left } = await withHostLock(end.connection, async () => {
    let results: readonly BatchResult[];
    let flushed = false;
    try {
      results = await runBatch(runner, steps, { tag: TAG });
      const flush = results[NO_TUNNEL_LEFT + 1];
      if (flush.exitCode !== 0 && results[3].exitCode === 0) throw new RemoteCommandError(runner.host, steps[NO_TUNNEL_LEFT + 1].argv, flush.exitCode, flush.stderr, flush.stdout);
      flushed = true;
    } catch (err) {
      if (!(err instanceof BatchStepError)) throw err;
      // A port another owner holds stays; the entry is released around it (slow path, rare).
      if (err.step === 0 && err.exitCode === GUARD_EXIT) return tnlNeighRelease(runner, keys);
      // Tunnels remain on the host: the normal outcome of the guard; the reads decide.
      if (err.step !== NO_TUNNEL_LEFT || err.exitCode !== GUARD_EXIT) throw err;
      results = err.results;
    }
    return releaseFromReads(runner, keys, parseTunnelRemoteIps(runner.host, results[2]), results[3], { tag: TAG, flushed });
  });
  for (const e of left) {
    progressSink().info(`tunnel ${p.a.portName}/${p.b.portName}: neighbour entry ${e.ip} on ${e.bridge} kept on ${end.connection.host} (OVS cannot delete one entry and a flush would interrupt the tunnels still using the cache; unused, it ages out, and the host's last tunnel flushes it)`);
  }
}

/**
 * Both ends up (idempotent, at once), neighbours seeded; on any failure removes the ends this
 * call added (a failed create leaves no state behind, so whatever it left on a host is orphaned).
 */
async function converge(p: GreTunnelInputs): Promise<GreTunnelOutputs> {
  const added: Side[] = [];
  let ends: Record<Side, EndUp>;
  try {
    const settled = await Promise.allSettled((['a', 'b'] as const).map((side) => createEnd(p, side, added)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [a, b] = settled.map((r) => (r as PromiseFulfilledResult<EndUp>).value);
    ends = { a, b };
    // The far end's MAC was not known before its batch: seed now (a second round trip).
    await Promise.all(
      (['a', 'b'] as const)
        .filter((s) => !ends[s].seeded)
        .map((s) =>
          withHostLock(p[s].connection, () => tnlNeighSet(runnerFor(p, s), underlayOf(p[s]), parseIpv4(p[s].remoteIp, 'remoteIp'), parseMac(ends[other(s)].mac, 'mac'), { tag: TAG }), {
            shared: true,
          }),
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
        run: () => removeEndAndNeighbour(runnerFor(p, side), p, p[side]),
      })),
    );
  }
  return { ...p, aOfport: ends.a.ofport, bOfport: ends.b.ofport, aPresent: true, bPresent: true, providerVersion: PROVIDER_VERSION };
}

async function observeEnd(p: GreTunnelInputs, side: Side): Promise<{ present: boolean; ofport: number }> {
  const end = p[side];
  // The host's snapshot (ovs/host-view.ts): shared with the other reads of this host.
  const snapshot = await readHostSnapshot(runnerFor(p, side), underlayOf(end), parseBridgeName(end.bridge, 'bridge'), TAG);
  const info = snapshot.ports.get(parseInterfaceName(end.portName, 'portName'));
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
    await Promise.all((['a', 'b'] as const).map((side) => removeEndAndNeighbour(runnerFor(props, side), props, props[side])));
  },
};
