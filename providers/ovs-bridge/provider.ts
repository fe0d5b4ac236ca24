/**
 * The OvsBridge provider (loaded inside the dynamic-provider process; see lazy-provider.ts).
 * Each step is ONE round trip to its hypervisor (exec/batch.ts): create/update = guards (the
 * physical bridge and its NIC are there, every name is absent or carries our owner mark),
 * ONE ovs-vsctl transaction, a read-back, br0's static rule (added by port names, so it needs
 * no number read first: ovs/physical.ts) and a dump of our cookie; read = one read and one
 * dump; delete = guards, one transaction, one cookie delete. Create adopts a bridge it already
 * owns (a re-run after a partial failure converges) and refuses one it does not own; delete
 * succeeds when the bridge is already gone and never touches a row whose vpm-owner mark names
 * someone else.
 *
 * A second round trip happens only off the normal path: a guard refused (the precise error is
 * then built from fresh reads), stale static rules to drop (a patch port renumbered by hand),
 * internal ports to remove on update, a delete that meets a foreign row.
 *
 * No host lock: a bridge's objects (its bridge, patch pair, internal ports and the br0 rule of
 * its own cookie) belong to it alone, so steps of different resources on one host commute.
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith } from '../common/check';
import { joinConnection } from '../common/connection-input';
import { OWNER_KEY, cookieFor, keepOwner } from '../common/owner';
import { rollBack } from '../common/rollback';
import { PROVIDER_VERSION } from '../common/version';
import * as schemas from '../common/schemas';
import { BatchStepError, RemoteCommandError, getRunner, runBatch, type BatchResult, type BatchStep, type CommandRunner } from '../exec';
import {
  BR_MISSING_EXIT,
  OFCTL_DEFAULT_VERSION,
  VsctlTxn,
  VPM_PROTOCOLS,
  noForeignRowsStep,
  addRuleByNameStep,
  bridgeExistsStep,
  bridgeInfo,
  delCookieStep,
  dumpRulesStep,
  rulesFrom,
  flowToOfctl,
  hostReadStep,
  macInUseStep,
  parseDumpFlows,
  parseHostRead,
  parseMacInUse,
  physicalGuardStep,
  rememberUnderlayMac,
  type DumpedFlow,
  type HostRead,
  type HostReadRequest,
  type InterfaceName,
  delForeignFlowsByCookie,
  matchField,
  outputsToPort,
  parseBridgeName,
  parseCookie,
  parseInterfaceName,
  parseOfPortNumber,
  portInfo,
  type Flow,
  type OfProtocol,
} from '../ovs';
import type { OvsBridgeInputs, OvsBridgeOutputs } from './types';
import { readHostSnapshot } from '../ovs/host-view';

/** Priority of br0's static rule. */
const STATIC_PRIORITY = 1000;

const PROTOCOL = z.enum(['OpenFlow10', 'OpenFlow11', 'OpenFlow12', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'], {
  message: 'protocols may list only OpenFlow10..OpenFlow15',
});

const INPUTS = z
  .object({
    connection: schemas.connection,
    privateKey: schemas.privateKey,
    passphrase: schemas.passphrase,
    owner: schemas.owner,
    name: schemas.ifaceName('name'),
    datapathType: z.enum(['netdev', 'system'], { message: "datapathType must be 'netdev' or 'system'" }).default('netdev'),
    failMode: z.enum(['secure', 'standalone'], { message: "failMode must be 'secure' or 'standalone'" }).default('secure'),
    protocols: z
      .array(PROTOCOL)
      .default([...VPM_PROTOCOLS])
      .refine((p) => p.includes('OpenFlow14') && p.includes('OpenFlow15'), {
        message: 'protocols must include OpenFlow14 and OpenFlow15 (FlowPath uses bundles and group buckets)',
      }),
    patch: z
      .object({
        physicalBridge: schemas.ifaceName('patch.physicalBridge').default('br0'),
        uplink: schemas.ifaceName('patch.uplink').default('eth0'),
        overlayPort: schemas.ifaceName('patch.overlayPort').default('patch-ovl'),
        physicalPort: schemas.ifaceName('patch.physicalPort').default('patch-phy'),
        overlayOfport: schemas.ofport('patch.overlayOfport').optional(),
      })
      .strict()
      .default({ physicalBridge: 'br0', uplink: 'eth0', overlayPort: 'patch-ovl', physicalPort: 'patch-phy' }),
    internalPorts: z.array(z.object({ name: schemas.ifaceName('internalPorts.name'), ofport: schemas.ofport('internalPorts.ofport') }).strict()).default([]),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.name === v.patch.physicalBridge) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `the overlay bridge must differ from the physical bridge "${v.patch.physicalBridge}"` });
    }
    if (v.patch.overlayPort === v.patch.physicalPort) {
      ctx.addIssue({ code: 'custom', path: ['patch', 'physicalPort'], message: 'the two patch ports need different names' });
    }
  });

function runnerFor(p: OvsBridgeInputs): CommandRunner {
  return getRunner(joinConnection(p.connection, p.privateKey, p.passphrase));
}

function hostOf(p: OvsBridgeInputs): string {
  return p.connection.host;
}

/** br0's static rule: what comes from the patch goes straight out of the NIC. */
function staticFlow(cookie: string, patchOfport: number, uplinkOfport: number): Flow {
  return {
    priority: STATIC_PRIORITY,
    cookie: parseCookie(cookie, 'cookie'),
    match: { inPort: parseOfPortNumber(patchOfport, 'physicalPatchOfport') },
    actions: [{ type: 'output', port: parseOfPortNumber(uplinkOfport, 'uplinkOfport') }],
  };
}

async function ensureOwnedOrAbsent(runner: CommandRunner, p: OvsBridgeInputs): Promise<void> {
  const problems: string[] = [];
  const br = await bridgeInfo(runner, parseBridgeName(p.name, 'name'));
  if (br && br.externalIds[OWNER_KEY] !== p.owner) {
    problems.push(`bridge "${p.name}" exists and is not owned by this resource (vpm-owner=${br.externalIds[OWNER_KEY] ?? 'none'})`);
  }
  for (const port of [p.patch.overlayPort, p.patch.physicalPort, ...(p.internalPorts ?? []).map((i) => i.name)]) {
    const info = await portInfo(runner, parseInterfaceName(port, 'patch'));
    if (info && info.externalIds[OWNER_KEY] !== p.owner) {
      problems.push(`port "${port}" exists on bridge ${info.bridge ?? '?'} and is not owned by this resource`);
    }
  }
  if (problems.length) {
    throw new Error(`${hostOf(p)}: refusing to touch what VPM does not own: ${problems.join('; ')}. Remove or rename it, or choose other names.`);
  }
}

const TAG = 'bridge';

function physicalMissing(p: OvsBridgeInputs): Error {
  return new Error(
    `${hostOf(p)}: the physical bridge "${p.patch.physicalBridge}" does not exist. VPM adds the overlay bridge beside ` +
      'an existing physical bridge that holds the NIC and the underlay address (the lab builds it; on a real host ' +
      `create it first, e.g. ovs-vsctl add-br ${p.patch.physicalBridge} -- add-port ${p.patch.physicalBridge} ${p.patch.uplink}). Nothing was changed.`,
  );
}

function uplinkBroken(p: OvsBridgeInputs): Error {
  return new Error(`${hostOf(p)}: the NIC "${p.patch.uplink}" is not a working port of bridge "${p.patch.physicalBridge}" (set patch.uplink). Nothing was changed.`);
}

function notUp(p: OvsBridgeInputs): Error {
  return new Error(`${hostOf(p)}: bridge "${p.name}" or its patch ports did not come up (ovs-vswitchd rejected them; see its log)`);
}

function buildTxn(p: OvsBridgeInputs): VsctlTxn {
  const ids = { [OWNER_KEY]: p.owner };
  const br = parseBridgeName(p.name, 'name');
  const phys = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const ovl = parseInterfaceName(p.patch.overlayPort, 'patch.overlayPort');
  const phy = parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort');
  const txn = new VsctlTxn()
    .addBridge(br, {
      mayExist: true,
      datapathType: p.datapathType,
      failMode: p.failMode,
      protocols: p.protocols as OfProtocol[],
      externalIds: ids,
    })
    .addPort(br, ovl, { type: 'patch', peer: phy }, {
      mayExist: true,
      externalIds: ids,
      ...(p.patch.overlayOfport ? { ofportRequest: parseOfPortNumber(p.patch.overlayOfport, 'patch.overlayOfport') } : {}),
    })
    .addPort(phys, phy, { type: 'patch', peer: ovl }, { mayExist: true, externalIds: ids });
  for (const port of p.internalPorts ?? []) {
    txn.addPort(br, parseInterfaceName(port.name, 'internalPorts.name'), { type: 'internal' }, {
      mayExist: true,
      externalIds: ids,
      ofportRequest: parseOfPortNumber(port.ofport, 'internalPorts.ofport'),
    });
  }
  return txn;
}

/** The rows a bridge's read-back needs: the bridge, its patch pair, its internal ports, the NIC. */
function readRequest(p: OvsBridgeInputs, extraPorts: readonly InterfaceName[] = []): HostReadRequest {
  return {
    bridges: [parseBridgeName(p.name, 'name')],
    ports: [
      parseInterfaceName(p.patch.overlayPort, 'patch.overlayPort'),
      parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort'),
      parseInterfaceName(p.patch.uplink, 'patch.uplink'),
      ...(p.internalPorts ?? []).map((i) => parseInterfaceName(i.name, 'internalPorts.name')),
      ...extraPorts,
    ],
  };
}

/** What is on the host, in the shape of the outputs; undefined when the bridge is gone (or not ours). */
function observeFrom(p: OvsBridgeInputs, read: HostRead, staticRule: DumpedFlow[] | undefined): Partial<OvsBridgeOutputs> | undefined {
  const br = read.bridges.get(p.name);
  if (!br || br.externalIds[OWNER_KEY] !== p.owner) return undefined;
  const ovl = read.ports.get(p.patch.overlayPort);
  const phy = read.ports.get(p.patch.physicalPort);
  const internalsOk = (p.internalPorts ?? []).every((i) => {
    const info = read.ports.get(i.name);
    return info?.bridge === p.name && info.ofport === i.ofport;
  });
  // br0's static rule (by cookie) is part of what this resource owns.
  const staticOk = staticRule !== undefined && staticRule.some(outputsToPort);
  const patchOk = staticOk && internalsOk && ovl?.bridge === p.name && phy?.bridge === p.patch.physicalBridge && ovl.options.peer === p.patch.physicalPort && phy.options.peer === p.patch.overlayPort;
  return {
    bridgeUuid: br.uuid,
    datapathId: br.datapathId ?? '',
    datapathType: (br.datapathType || 'system') as 'netdev' | 'system',
    failMode: (br.failMode ?? 'standalone') as 'secure' | 'standalone',
    protocols: [...br.protocols].sort(),
    // A missing or rewired patch pair is drift that the next up repairs in place.
    patchPresent: Boolean(patchOk),
    patchOfport: ovl?.ofport ?? -1,
    physicalPatchOfport: phy?.ofport ?? -1,
  };
}

/**
 * For a read (a refresh): the host's snapshot (ovs/host-view.ts: one round trip, shared with
 * the reads of the tunnel ends and path hops on this host), narrowed to this bridge.
 */
async function observe(runner: CommandRunner, p: OvsBridgeInputs): Promise<Partial<OvsBridgeOutputs> | undefined> {
  const req = readRequest(p);
  const snap = await readHostSnapshot(runner, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'), parseBridgeName(p.name, 'name'), TAG);
  const read: HostRead = { bridges: new Map(req.bridges.map((b) => [b, snap.bridges.get(b)])), ports: new Map(req.ports.map((n) => [n, snap.ports.get(n)])) };
  const cookie = parseCookie(cookieFor(p.owner));
  return observeFrom(p, read, snap.physicalFlows?.filter((f) => f.cookie === cookie));
}

/** The steps of a create/update, and where each part sits in the batch. */
function convergeSteps(p: OvsBridgeInputs, gone: readonly InterfaceName[]) {
  const physical = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const cookie = parseCookie(cookieFor(p.owner));
  const req = readRequest(p, gone);
  // The bridge and its ports are each absent or ours: one ovs-vsctl run for all of them.
  const owned = noForeignRowsStep(
    [{ table: 'Bridge', name: p.name }, ...[p.patch.overlayPort, p.patch.physicalPort, ...(p.internalPorts ?? []).map((i) => i.name)].map((name) => ({ table: 'Port' as const, name }))],
    OWNER_KEY,
    p.owner,
  );
  const dump = dumpRulesStep(physical, cookie);
  const steps: BatchStep[] = [
    bridgeExistsStep(parseBridgeName(p.name, 'name')),
    physicalGuardStep(physical, parseInterfaceName(p.patch.uplink, 'patch.uplink')),
    owned,
    buildTxn(p).step(),
    hostReadStep(req),
    addRuleByNameStep(physical, {
      priority: STATIC_PRIORITY,
      cookie,
      from: parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort'),
      to: parseInterfaceName(p.patch.uplink, 'patch.uplink'),
    }),
    dump,
    // Remembered for the tunnels that will seed their far ends' caches with it (ovs/underlay-macs.ts).
    { ...macInUseStep(physical), okExitCodes: [0, 1] },
  ];
  return { steps, req, dump, at: { exists: 0, physical: 1, owned: 2, txn: 3, read: 4, flow: 5, dump: 6, mac: 7 } };
}

/**
 * Whether a failed create has something to roll back: the bridge was absent before (known
 * once the batch's first step answered) and the batch reached its transaction. A failure
 * before the transaction changed nothing; a bridge that was there before is never removed.
 */
interface Existed {
  value: boolean;
}

/** Patch ports whose OpenFlow number is missing or -1 (ovs-vswitchd could not set them up). */
function portsDown(p: OvsBridgeInputs, read: HostRead): boolean {
  const ovl = read.ports.get(p.patch.overlayPort);
  const phy = read.ports.get(p.patch.physicalPort);
  return !ovl?.ofport || ovl.ofport < 1 || !phy?.ofport || phy.ofport < 1;
}

/**
 * Create or update in ONE round trip (see the module header); `existed` learns whether the
 * bridge was there before, for the caller's rollback.
 */
async function converge(runner: CommandRunner, p: OvsBridgeInputs, existed: Existed, gone: readonly InterfaceName[] = []): Promise<OvsBridgeOutputs> {
  const plan = convergeSteps(p, gone);
  let results: BatchResult[];
  try {
    results = await runBatch(runner, plan.steps, { tag: TAG });
  } catch (err) {
    if (!(err instanceof BatchStepError)) throw err;
    if (err.step >= plan.at.txn) existed.value = err.results[plan.at.exists].exitCode === 0;
    if (err.step === plan.at.physical) throw err.exitCode === BR_MISSING_EXIT ? physicalMissing(p) : uplinkBroken(p);
    if (err.step === plan.at.owned) {
      // Off the normal path: fresh reads name exactly what is foreign (a second round trip).
      await ensureOwnedOrAbsent(runner, p);
      throw new Error(`${hostOf(p)}: refusing to touch what VPM does not own: ${err.argv.slice(-3).join(' ')} is not marked vpm-owner=${p.owner}. Remove or rename it, or choose other names.`);
    }
    if (err.step === plan.at.flow && portsDown(p, parseHostRead(runner.host, plan.req, err.results[plan.at.read]))) throw notUp(p);
    throw err;
  }
  existed.value = results[plan.at.exists].exitCode === 0;
  const read = parseHostRead(runner.host, plan.req, results[plan.at.read]);
  if (portsDown(p, read)) throw notUp(p);
  const seen = observeFrom(p, read, rulesFrom(runner.host, plan.dump, results[plan.at.dump]));
  if (!seen) throw new Error(`${hostOf(p)}: bridge "${p.name}" is not there after its transaction (removed concurrently?)`);
  const mac = results[plan.at.mac];
  if (mac.exitCode === 0) {
    try {
      rememberUnderlayMac(p.connection, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'), parseMacInUse(mac.stdout));
    } catch {
      // Only a shortcut for later tunnels: without it they read the MAC themselves.
    }
  }
  const cookie = cookieFor(p.owner);
  const uplinkOfport = read.ports.get(p.patch.uplink)?.ofport ?? -1;
  await dropStaleStaticRules(runner, p, cookie, seen.physicalPatchOfport!, uplinkOfport, rulesFrom(runner.host, plan.dump, results[plan.at.dump]) ?? []);
  await dropGoneInternalPorts(runner, p, read, gone);
  return {
    ...p,
    bridgeUuid: seen.bridgeUuid!,
    datapathId: seen.datapathId ?? '',
    patchOfport: seen.patchOfport!,
    physicalPatchOfport: seen.physicalPatchOfport!,
    patchPresent: true,
    cookie,
    providerVersion: PROVIDER_VERSION,
  };
}

/**
 * A patch port deleted by hand and re-added by a repair may come back with another OpenFlow
 * number: br0 then holds our rule for the new number AND the stale one for the old (a flow is
 * identified by its match, so add-flow does not replace it). Drop our rules for any other
 * in_port, strictly and after the new one is in, so the patch is never without its rule.
 * Rare (drift repair): a second round trip, only when there is such a rule.
 */
async function dropStaleStaticRules(runner: CommandRunner, p: OvsBridgeInputs, cookie: string, patchOfport: number, uplinkOfport: number, ours: readonly DumpedFlow[]): Promise<void> {
  const physical = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const stale: BatchStep[] = [];
  for (const f of ours) {
    const inPort = matchField(f, 'in_port');
    if (inPort === undefined || !/^\d+$/.test(inPort)) continue;
    const port = Number(inPort);
    if (port === patchOfport) continue;
    stale.push({ argv: [...OFCTL_DEFAULT_VERSION, '--strict', 'del-flows', physical, flowToOfctl(staticFlow(cookie, port, uplinkOfport), 'strict-del')] });
  }
  if (stale.length) await runBatch(runner, stale, { tag: TAG });
}

/** Internal ports that left the inputs go (only ours, by the owner mark); a second round trip, only when there are any. */
async function dropGoneInternalPorts(runner: CommandRunner, p: OvsBridgeInputs, read: HostRead, gone: readonly InterfaceName[]): Promise<void> {
  const txn = new VsctlTxn();
  for (const name of gone) {
    if (read.ports.get(name)?.externalIds[OWNER_KEY] === p.owner) txn.delPort(name, { ifExists: true });
  }
  if (!txn.isEmpty) await runBatch(runner, [txn.step()], { tag: TAG });
}

/**
 * Removes only what carries this owner's mark; absent things are fine. ONE round trip: guards
 * (the bridge and br0's patch port are absent or ours), one transaction, br0's rules of our
 * cookie (skipped when br0 itself is gone). A foreign row stops the batch before anything
 * changed, and the slow path below removes what is ours around it.
 */
async function teardown(runner: CommandRunner, p: OvsBridgeInputs): Promise<void> {
  const name = parseBridgeName(p.name, 'name');
  const phyPort = parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort');
  const physical = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const steps: BatchStep[] = [
    noForeignRowsStep(
      [
        { table: 'Bridge', name },
        { table: 'Port', name: phyPort },
      ],
      OWNER_KEY,
      p.owner,
    ),
    new VsctlTxn().delBridge(name, { ifExists: true }).delPort(phyPort, { ifExists: true }).step(),
    // Stops the batch (exit 2) when br0 is gone: then it holds no rule of ours either.
    { ...bridgeExistsStep(physical), okExitCodes: [0] },
    delCookieStep(physical, parseCookie(cookieFor(p.owner))),
  ];
  try {
    await runBatch(runner, steps, { tag: TAG });
  } catch (err) {
    if (err instanceof BatchStepError && err.step === 2 && err.exitCode === BR_MISSING_EXIT) return;
    if (err instanceof BatchStepError && err.step === 0) return teardownAroundForeign(runner, p);
    throw err;
  }
}

/** The slow path of teardown: read each row, remove only the ones marked ours. */
async function teardownAroundForeign(runner: CommandRunner, p: OvsBridgeInputs): Promise<void> {
  const txn = new VsctlTxn();
  const br = await bridgeInfo(runner, parseBridgeName(p.name, 'name'));
  if (br && br.externalIds[OWNER_KEY] === p.owner) txn.delBridge(parseBridgeName(p.name, 'name'), { ifExists: true });
  const phy = await portInfo(runner, parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort'));
  if (phy && phy.externalIds[OWNER_KEY] === p.owner) txn.delPort(parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort'), { ifExists: true });
  if (!txn.isEmpty) await txn.run(runner);
  const phys = await bridgeInfo(runner, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'));
  if (phys) {
    await delForeignFlowsByCookie(runner, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'), parseCookie(cookieFor(p.owner)));
  }
}

const REPLACE_KEYS = ['name', 'datapathType', 'owner'] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    return checkWith(INPUTS, keepOwner(olds, news));
  },

  async diff(_id, olds: OvsBridgeOutputs, news: OvsBridgeInputs) {
    const replaces: string[] = [];
    const sameHost = olds.connection.host === news.connection.host && (olds.connection.port ?? 22) === (news.connection.port ?? 22) && olds.connection.netns === news.connection.netns;
    if (!sameHost) replaces.push('connection');
    for (const key of REPLACE_KEYS) if (olds[key] !== news[key]) replaces.push(key);
    const patchKeys = ['physicalBridge', 'overlayPort', 'physicalPort', 'overlayOfport'] as const;
    if (patchKeys.some((k) => olds.patch?.[k] !== news.patch?.[k])) replaces.push('patch');
    const changes =
      replaces.length > 0 ||
      olds.failMode !== news.failMode ||
      JSON.stringify([...(olds.protocols ?? [])].sort()) !== JSON.stringify([...news.protocols].sort()) ||
      olds.patch?.uplink !== news.patch.uplink ||
      JSON.stringify(olds.internalPorts ?? []) !== JSON.stringify(news.internalPorts ?? []) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
      olds.privateKey !== news.privateKey ||
      olds.passphrase !== news.passphrase ||
      olds.patchPresent === false ||
      olds.providerVersion !== PROVIDER_VERSION;
    // On the same host the new bridge/patch names would clash with the old ones: delete first.
    const clash = sameHost && (olds.name === news.name || olds.patch?.overlayPort === news.patch.overlayPort || olds.patch?.physicalPort === news.patch.physicalPort);
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && clash };
  },

  async create(inputs: OvsBridgeInputs) {
    const runner = runnerFor(inputs);
    // Until the batch answered, assume the bridge was there: never roll back what may not be ours.
    const existed: Existed = { value: true };
    try {
      const outs = await converge(runner, inputs, existed);
      return { id: `${inputs.connection.host}/${inputs.name}`, outs };
    } catch (err) {
      // Roll back what this create added (never a bridge that was there before), and name
      // what could not be removed: a stranded bridge must not go unreported.
      if (!existed.value) {
        return rollBack(err, `creating bridge ${inputs.name} on ${inputs.connection.host}`, [
          { what: `bridge ${inputs.name} and its patch ports`, where: inputs.connection.host, run: () => teardown(runner, inputs) },
        ]);
      }
      throw err;
    }
  },

  async read(id, props: OvsBridgeOutputs) {
    const seen = await observe(runnerFor(props), props);
    if (!seen) return { id: '', props: {} };
    return { id, props: { ...props, ...seen } };
  },

  async update(_id, olds: OvsBridgeOutputs, news: OvsBridgeInputs) {
    // Internal ports that left the inputs go (only ours, by the owner mark).
    const kept = new Set(news.internalPorts.map((i) => i.name));
    const gone = (olds.internalPorts ?? []).filter((i) => !kept.has(i.name)).map((i) => parseInterfaceName(i.name, 'internalPorts.name'));
    return { outs: await converge(runnerFor(news), news, { value: true }, gone) };
  },

  async delete(_id, props: OvsBridgeOutputs) {
    await teardown(runnerFor(props), props);
  },
};
