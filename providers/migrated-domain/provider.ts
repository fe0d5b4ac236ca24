/**
 * The MigratedDomain provider. A change of `host` is an update that live-migrates:
 *   1. the tap (fixed name and port number) is made on the destination,
 *   2. `virsh migrate --live --p2p --persistent --undefinesource` runs on the source,
 *   3. libvirt's own figures are read on the destination (downtime, total time),
 *   4. the tap on the source is removed.
 * If 2 fails or times out (then the job is aborted) the update fails with the domain still
 * running on the source, and the state keeps the source as its host. If 2 succeeded and a
 * later step fails, the update fails but the state records the destination
 * (PartialStateError, common/partial.ts): the VM is there now.
 *
 * create rolls back what it made (the tap and port, the definition) when define or start
 * fails, and names what it could not remove (common/rollback.ts).
 *
 * read asks the peers (with the same credentials as the domain's own host, or their own)
 * when the domain is not on its recorded host; if a peer cannot be asked, read FAILS: "gone"
 * is reported only when every host answered that it does not have the domain (a "gone" VM is
 * created again by the next up: a second copy with the same MAC and IP).
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith } from '../common/check';
import { joinConnection, type ConnectionWithoutKey } from '../common/connection-input';
import { PROVIDER_VERSION } from '../common/version';
import { keepOwner } from '../common/owner';
import * as schemas from '../common/schemas';
import { type CommandRunner, getRunner, withHostLock } from '../exec';
import { DOMAIN_NAME_RE, domainXml } from '../libvirt/domain';
import { MIGRATION_URI, completedJob, defineDomain, destroyAndUndefine, domainState, migrateLive, startDomain } from '../libvirt';
import { waitUntilGuestAnswers } from './readiness';
import { DEFAULT_DESTINATION_QUEUE, ensureTap, removeTap, setTapQueueLength, TAP_QUEUE_FRAMES, VM_TAP_PREFIX } from './tap';
import { endLine, startLine, watchMigration } from './progress';
import { progressSink } from '../common/progress';
import { PartialStateError } from '../common/partial';
import { rollBack, type Undo } from '../common/rollback';
import type { MigratedDomainInputs, MigratedDomainOutputs, MigrationReport } from './types';

// Absolute; no part is '.' or '..' (traversal) or starts with '-' (an option).
const ABS_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9_.+][A-Za-z0-9_.+-]*)+$/;

const INPUTS = z
  .object({
    name: z.string().regex(DOMAIN_NAME_RE, 'name must be 1..63 letters, digits, _ . - (starting with a letter or digit)'),
    host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'host must be the hypervisor label, e.g. h3'),
    connection: schemas.connection,
    privateKey: schemas.privateKey,
    passphrase: schemas.passphrase,
    // user@ and :port optional; the host starts with a letter or digit (never an '-option' to ssh).
    migrationUri: z.string().regex(MIGRATION_URI, 'migrationUri must be qemu+ssh://HOST/system or qemu+tls://HOST/system'),
    allowUnencryptedMigration: z.boolean().optional(),
    role: z.enum(['root', 'relay', 'leaf', 'none'], { message: "role must be 'root', 'relay', 'leaf' or 'none'" }),
    memoryMiB: z.number().int().min(96, 'memoryMiB must be >= 96 (the lab guest runs out of memory below)').max(65536).default(96),
    vcpus: z.number().int().min(1).max(64).default(1),
    kernel: z.string().max(4096, 'kernel is longer than 4096 characters').regex(ABS_PATH, 'kernel must be an absolute path on the hypervisor (no . or .. parts, none starting with -)'),
    initrd: z.string().max(4096, 'initrd is longer than 4096 characters').regex(ABS_PATH, 'initrd must be an absolute path on the hypervisor (no . or .. parts, none starting with -)'),
    emulator: z.string().max(4096, 'emulator is longer than 4096 characters').regex(ABS_PATH, 'emulator must be an absolute path on the hypervisor (no . or .. parts, none starting with -)').optional(),
    // Kernel parameters: words of plain characters; none is an '-option' or holds '..' (traversal).
    cmdline: z
      .string()
      .max(2048, 'cmdline is longer than 2048 characters')
      .regex(/^(?!.*\.\.)([A-Za-z0-9_][A-Za-z0-9_.,:=/+-]*( [A-Za-z0-9_][A-Za-z0-9_.,:=/+-]*)*)?$/, 'cmdline may use only words of letters, digits and _ . , : = / + - separated by single spaces, none starting with "-", and no ".."'),
    network: z
      .object({
        bridge: schemas.ifaceName('network.bridge'),
        tap: schemas.ifaceName('network.tap').refine((t) => t.startsWith(VM_TAP_PREFIX), {
          message: `network.tap must start with "${VM_TAP_PREFIX}" (VPM's taps; a host interface such as eth0 must never become a VM's port)`,
        }),
        ofport: schemas.ofport('network.ofport'),
        mac: schemas.mac('network.mac'),
        readiness: z
          .object({
            port: z.number().int().min(1).max(65535, 'network.readiness.port must be a UDP port 1..65535'),
            ip: z.ipv4({ message: 'network.readiness.ip must be the guest\'s IPv4 address' }),
            probeIp: z.ipv4({ message: 'network.readiness.probeIp must be an unused IPv4 address on the guest\'s subnet' }),
            probeMac: schemas.mac('network.readiness.probeMac'),
            timeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
          })
          .strict()
          .optional(),
      })
      .strict(),
    migration: z
      .object({
        live: z.literal(true, { message: 'only live migration is supported (live: true)' }).default(true),
        maxDowntimeMs: z.number().int().min(1).max(60000).optional(),
        bandwidthMiBs: z.number().int().min(1, 'migration.bandwidthMiBs must be >= 1 MiB/s').max(100_000).optional(),
        postcopy: z.boolean().optional(),
        destinationQueueFrames: z.number().int().min(1, 'migration.destinationQueueFrames must be 1..1000 frames').max(1000, 'migration.destinationQueueFrames must be 1..1000 frames').optional(),
        timeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
      })
      .strict()
      .default({ live: true, timeoutMs: 120_000 }),
    // Per peer (same order): its inline key / passphrase, or null (then the domain's own).
    peerPrivateKeys: z.array(schemas.privateKey.nullable()).optional(),
    peerPassphrases: z.array(schemas.passphrase.nullable()).optional(),
    peers: z.array(z.object({ host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'peers.host must be the hypervisor label, e.g. h4'), connection: schemas.connection }).strict()).default([]),
    owner: schemas.owner,
  })
  .strict()
  .superRefine((v, ctx) => {
    // VM memory crosses the network during a migration: authenticated transports only,
    // unless the host says its network is closed (the lab's hosts file does).
    if (v.migrationUri.startsWith('qemu+tcp:') && v.allowUnencryptedMigration !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['migrationUri'],
        message: 'qemu+tcp:// migrates VM memory unauthenticated and unencrypted: use qemu+ssh:// or qemu+tls://, or set allowUnencryptedMigration (hosts file: migration.allowUnencrypted: true) on a closed network',
      });
    }
  });

function runnerOf(connection: ConnectionWithoutKey, privateKey: string | undefined | null, passphrase?: string | null): CommandRunner {
  return getRunner(joinConnection(connection, privateKey, passphrase));
}

/** Properties the state must keep encrypted (also in a partial state). */
const SECRET_KEYS = ['privateKey', 'passphrase', 'peerPrivateKeys', 'peerPassphrases'];

/**
 * The credentials for peer i: its own inline key, else its own key file (in its connection),
 * else the domain's own inline key: the hosts of one stack are reached the same way.
 */
function peerCredentials(p: MigratedDomainOutputs, i: number): { privateKey?: string; passphrase?: string } {
  const own = p.peerPrivateKeys?.[i];
  if (own) return { privateKey: own, ...(p.peerPassphrases?.[i] ? { passphrase: p.peerPassphrases[i]! } : {}) };
  if (p.peers[i].connection.privateKeyPath !== undefined) return {};
  return { ...(p.privateKey ? { privateKey: p.privateKey } : {}), ...(p.passphrase ? { passphrase: p.passphrase } : {}) };
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

function xmlOf(p: MigratedDomainInputs): string {
  return domainXml({
    name: p.name,
    memoryMiB: p.memoryMiB,
    vcpus: p.vcpus,
    kernel: p.kernel,
    initrd: p.initrd,
    cmdline: p.cmdline,
    interface: { type: 'ethernet', tap: p.network.tap, mac: p.network.mac },
    ...(p.emulator ? { emulator: p.emulator } : {}),
    title: `vpm ${p.owner}`,
  });
}

async function createOn(p: MigratedDomainInputs): Promise<string> {
  const runner = runnerOf(p.connection, p.privateKey, p.passphrase);
  const state = await withHostLock(p.connection, async () => {
    // What this call made, undone (last first) if a later command fails.
    const made: Undo[] = [];
    try {
      if (await ensureTap(runner, p.network, p.owner)) {
        made.push({ what: `tap ${p.network.tap} (port on ${p.network.bridge})`, where: p.host, run: () => removeTap(runner, p.network, p.owner) });
      }
      const state = await domainState(runner, p.name);
      if (state === undefined) {
        await defineDomain(runner, xmlOf(p));
        made.push({ what: `domain ${p.name}`, where: p.host, run: () => destroyAndUndefine(runner, p.name) });
      }
      if (state !== 'running') await startDomain(runner, p.name);
      return (await domainState(runner, p.name)) ?? 'unknown';
    } catch (err) {
      return rollBack(err, `creating ${p.name} on ${p.host}`, made);
    }
  });
  if (state === 'running') await guestReady(p); // outside the host lock: a boot takes seconds
  return state;
}

/** Waits, when the inputs ask for it, until the guest answers (readiness.ts). */
async function guestReady(p: MigratedDomainInputs): Promise<void> {
  const r = p.network.readiness;
  if (!r) return;
  const probe = { port: r.port, ip: r.ip, probeIp: r.probeIp, probeMac: r.probeMac, timeoutMs: r.timeoutMs ?? 60_000 };
  await waitUntilGuestAnswers(runnerOf(p.connection, p.privateKey, p.passphrase), p.name, p.network, probe, p.owner);
}

/** The network without the readiness probe: what a replacement is decided on. */
function portOf(net: MigratedDomainInputs['network']): string {
  const { readiness: _probe, ...port } = net;
  return JSON.stringify(port);
}

async function migrate(olds: MigratedDomainOutputs, news: MigratedDomainInputs): Promise<MigrationReport> {
  const source = runnerOf(olds.connection, olds.privateKey, olds.passphrase);
  const dest = runnerOf(news.connection, news.privateKey, news.passphrase);
  const state = await domainState(source, olds.name);
  if (state !== 'running') {
    throw new Error(`cannot migrate ${olds.name}: it is ${state ?? 'not defined'} on ${olds.host}, not running (run \`pulumi refresh\` to see where it is)`);
  }
  await withHostLock(news.connection, async () => {
    await ensureTap(dest, news.network, news.owner);
    await setTapQueueLength(dest, news.network.tap, news.migration.destinationQueueFrames ?? DEFAULT_DESTINATION_QUEUE);
  });
  const progress = progressSink();
  progress.info(startLine(olds.name, olds.host, news.host));
  const stopWatching = watchMigration(source, olds.name, olds.host, news.host, progress);
  const t0 = Date.now();
  try {
    const m = news.migration;
    await migrateLive(source, olds.name, {
      destinationUri: news.migrationUri,
      allowUnencrypted: news.allowUnencryptedMigration === true,
      timeoutMs: m.timeoutMs,
      ...(m.maxDowntimeMs !== undefined ? { maxDowntimeMs: m.maxDowntimeMs } : {}),
      ...(m.bandwidthMiBs !== undefined ? { bandwidthMiBs: m.bandwidthMiBs } : {}),
      ...(m.postcopy ? { postcopy: true } : {}),
    });
  } catch (err) {
    stopWatching();
    const where = await domainState(source, olds.name).catch(() => undefined);
    throw new Error(
      `live migration of ${olds.name} from ${olds.host} to ${news.host} failed; the domain is ${where ?? 'not defined'} on ${olds.host} ` +
        `and the old path is untouched. Fix the destination (is its libvirtd running?) and run up again.\n${err instanceof Error ? err.message : String(err)}`,
    );
  }
  stopWatching();
  const wallMs = Date.now() - t0;
  // From here on the VM lives on the destination: a failure must not lose that fact.
  const after = async (): Promise<MigrationReport> => {
    // The VM reads its tap now: give the queue back its usual length, then migrated = the
    // guest answers on the destination.
    await setTapQueueLength(dest, news.network.tap, TAP_QUEUE_FRAMES);
    await guestReady(news);
    const job = await completedJob(dest, news.name).catch(() => undefined); // figures only
    await withHostLock(olds.connection, () => removeTap(source, olds.network, olds.owner)).catch((err: unknown) => {
      throw new Error(`the tap ${olds.network.tap} is LEFT BEHIND on ${olds.host} (${firstLine(err)}); the next up removes it`);
    });
    return {
      from: olds.host,
      to: news.host,
      wallMs,
      ...(job?.downtimeMs !== undefined ? { downtimeMs: job.downtimeMs } : {}),
      ...(job?.timeElapsedMs !== undefined ? { totalMs: job.timeElapsedMs } : {}),
      ...(job?.dataProcessedBytes !== undefined ? { dataBytes: job.dataProcessedBytes } : {}),
    };
  };
  try {
    const report = await after();
    progress.info(endLine(olds.name, report));
    return report;
  } catch (err) {
    throw new MigratedButFailed(olds.name, olds.host, news.host, { from: olds.host, to: news.host, wallMs }, err);
  }
}

/** The live migration succeeded; a later step did not. update() records the new host anyway. */
class MigratedButFailed extends Error {
  constructor(name: string, from: string, to: string, readonly report: MigrationReport, cause: unknown) {
    super(
      `${name} was live-migrated from ${from} to ${to} (recorded: the state now names ${to}), but a later step failed: ${cause instanceof Error ? cause.message : String(cause)}\n` +
        'Fix that and run up again.',
    );
  }
}

function sameHost(a: ConnectionWithoutKey, b: ConnectionWithoutKey): boolean {
  return a.host === b.host && (a.port ?? 22) === (b.port ?? 22) && a.netns === b.netns;
}

const REPLACE_KEYS = ['name', 'memoryMiB', 'vcpus', 'kernel', 'initrd', 'emulator', 'cmdline'] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<MigratedDomainOutputs>, news) {
    const result = checkWith(INPUTS, keepOwner(olds, news));
    const n = result.inputs as MigratedDomainInputs | undefined;
    if (n && olds.host && olds.host !== n.host && olds.role !== 'leaf') {
      return { inputs: undefined, failures: [{ property: 'host', reason: `only leaf VMs migrate (the paper's rule): ${n.name} is a ${olds.role} VM on ${olds.host}; keep host ${olds.host}` }] };
    }
    return result;
  },

  async diff(_id, olds: MigratedDomainOutputs, news: MigratedDomainInputs) {
    const replaces: string[] = REPLACE_KEYS.filter((k) => olds[k] !== news[k]);
    if (portOf(olds.network) !== portOf(news.network)) replaces.push('network');
    const changes =
      replaces.length > 0 ||
      olds.host !== news.host ||
      !sameHost(olds.connection, news.connection) ||
      olds.state !== 'running' ||
      JSON.stringify([olds.migrationUri, olds.migration, olds.peers, olds.role, olds.privateKey, olds.passphrase, olds.connection, olds.network.readiness, olds.peerPrivateKeys ?? [], olds.peerPassphrases ?? []]) !==
        JSON.stringify([news.migrationUri, news.migration, news.peers, news.role, news.privateKey, news.passphrase, news.connection, news.network.readiness, news.peerPrivateKeys ?? [], news.peerPassphrases ?? []]) ||
      olds.providerVersion !== PROVIDER_VERSION;
    // The domain name is unique per libvirtd: a replacement must delete the old one first.
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs: MigratedDomainInputs) {
    const state = await createOn(inputs);
    const outs: MigratedDomainOutputs = { ...inputs, state, providerVersion: PROVIDER_VERSION };
    return { id: inputs.name, outs };
  },

  async read(id, props: MigratedDomainOutputs) {
    // An SSH error here fails the refresh: it says nothing about whether the domain exists.
    const here = await domainState(runnerOf(props.connection, props.privateKey, props.passphrase), props.name);
    if (here !== undefined) return { id, props: { ...props, state: here } };
    // Not where the state says: a VM moved by hand is drift (a different host), not a deletion.
    const unasked: string[] = [];
    const peers = props.peers ?? [];
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i];
      if (sameHost(peer.connection, props.connection)) continue;
      const cred = peerCredentials(props, i);
      let there: string | undefined;
      try {
        there = await domainState(runnerOf(peer.connection, cred.privateKey, cred.passphrase), props.name);
      } catch (err) {
        unasked.push(`${peer.host} (${firstLine(err)})`);
        continue;
      }
      if (there !== undefined) {
        // The peer's credentials become the domain's own (its own key if it had one).
        const { privateKey: _k, passphrase: _p, ...rest } = props;
        const moved: MigratedDomainOutputs = { ...rest, host: peer.host, connection: peer.connection, state: there };
        if (cred.privateKey) moved.privateKey = cred.privateKey;
        if (cred.passphrase) moved.passphrase = cred.passphrase;
        return { id, props: moved };
      }
    }
    if (unasked.length > 0) {
      throw new Error(
        `cannot tell whether ${props.name} still exists: it is not on ${props.host}, and ${unasked.length} peer host(s) could not be asked: ` +
          `${unasked.join('; ')}. Nothing was changed; fix the connection and refresh again (reporting it gone would make the next up start a second copy).`,
      );
    }
    return { id: '', props: {} };
  },

  async update(_id, olds: MigratedDomainOutputs, news: MigratedDomainInputs) {
    if (olds.host !== news.host || !sameHost(olds.connection, news.connection)) {
      let report: MigrationReport;
      try {
        report = await migrate(olds, news);
      } catch (err) {
        if (!(err instanceof MigratedButFailed)) throw err;
        const outs: MigratedDomainOutputs = { ...news, state: 'running', lastMigration: err.report, providerVersion: PROVIDER_VERSION };
        throw new PartialStateError(err.message, _id, outs, news, SECRET_KEYS);
      }
      const state = (await domainState(runnerOf(news.connection, news.privateKey, news.passphrase), news.name)) ?? 'unknown';
      return { outs: { ...news, state, lastMigration: report, providerVersion: PROVIDER_VERSION } };
    }
    const state = await createOn(news);
    return { outs: { ...news, state, ...(olds.lastMigration ? { lastMigration: olds.lastMigration } : {}), providerVersion: PROVIDER_VERSION } };
  },

  async delete(_id, props: MigratedDomainOutputs) {
    const runner = runnerOf(props.connection, props.privateKey, props.passphrase);
    await withHostLock(props.connection, async () => {
      await destroyAndUndefine(runner, props.name);
      await removeTap(runner, props.network, props.owner);
    });
  },
};
