/**
 * The OvsBridge provider (loaded inside the dynamic-provider process; see lazy-provider.ts).
 * Each step is one host-locked sequence on one hypervisor: reads, then ONE ovs-vsctl
 * transaction, then br0's static rule. Create adopts a bridge it already owns (a re-run after
 * a partial failure converges) and refuses one it does not own; delete succeeds when the
 * bridge is already gone and never touches a row whose vpm-owner mark names someone else.
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith } from '../common/check';
import { joinConnection } from '../common/connection-input';
import { OWNER_KEY, cookieFor, keepOwner } from '../common/owner';
import { rollBack } from '../common/rollback';
import { PROVIDER_VERSION } from '../common/version';
import * as schemas from '../common/schemas';
import { getRunner, withHostLock, type CommandRunner } from '../exec';
import {
  VsctlTxn,
  VPM_PROTOCOLS,
  addForeignFlow,
  bridgeInfo,
  delForeignFlowStrict,
  delForeignFlowsByCookie,
  dumpForeignFlows,
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
    priority: 1000,
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

async function requirePhysical(runner: CommandRunner, p: OvsBridgeInputs): Promise<number> {
  const phys = await bridgeInfo(runner, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'));
  if (!phys) {
    throw new Error(
      `${hostOf(p)}: the physical bridge "${p.patch.physicalBridge}" does not exist. VPM adds the overlay bridge beside ` +
        'an existing physical bridge that holds the NIC and the underlay address (the lab builds it; on a real host ' +
        `create it first, e.g. ovs-vsctl add-br ${p.patch.physicalBridge} -- add-port ${p.patch.physicalBridge} ${p.patch.uplink}). Nothing was changed.`,
    );
  }
  const uplink = await portInfo(runner, parseInterfaceName(p.patch.uplink, 'patch.uplink'));
  if (!uplink || uplink.bridge !== p.patch.physicalBridge || !uplink.ofport || uplink.ofport < 1) {
    throw new Error(`${hostOf(p)}: the NIC "${p.patch.uplink}" is not a working port of bridge "${p.patch.physicalBridge}" (set patch.uplink). Nothing was changed.`);
  }
  return uplink.ofport;
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

/** Reads what is on the host now, in the shape of the outputs; undefined when the bridge is gone. */
async function observe(runner: CommandRunner, p: OvsBridgeInputs): Promise<Partial<OvsBridgeOutputs> | undefined> {
  const br = await bridgeInfo(runner, parseBridgeName(p.name, 'name'));
  if (!br || br.externalIds[OWNER_KEY] !== p.owner) return undefined;
  const ovl = await portInfo(runner, parseInterfaceName(p.patch.overlayPort, 'patch.overlayPort'));
  const phy = await portInfo(runner, parseInterfaceName(p.patch.physicalPort, 'patch.physicalPort'));
  const internals = await Promise.all((p.internalPorts ?? []).map((i) => portInfo(runner, parseInterfaceName(i.name, 'internalPorts.name'))));
  const internalsOk = internals.every((info, k) => info?.bridge === p.name && info.ofport === p.internalPorts[k].ofport);
  // br0's static rule (by cookie) is part of what this resource owns.
  const physical = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const staticRule = await dumpForeignFlows(runner, physical, parseCookie(cookieFor(p.owner)), { missingOk: true });
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

async function converge(runner: CommandRunner, p: OvsBridgeInputs): Promise<OvsBridgeOutputs> {
  const uplinkOfport = await requirePhysical(runner, p);
  await ensureOwnedOrAbsent(runner, p);
  await buildTxn(p).run(runner);
  const seen = await observe(runner, p);
  if (!seen || !seen.patchOfport || seen.patchOfport < 1 || !seen.physicalPatchOfport || seen.physicalPatchOfport < 1) {
    throw new Error(`${hostOf(p)}: bridge "${p.name}" or its patch ports did not come up (ovs-vswitchd rejected them; see its log)`);
  }
  const cookie = cookieFor(p.owner);
  await addForeignFlow(runner, parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge'), staticFlow(cookie, seen.physicalPatchOfport, uplinkOfport));
  await dropStaleStaticRules(runner, p, cookie, seen.physicalPatchOfport, uplinkOfport);
  return {
    ...p,
    bridgeUuid: seen.bridgeUuid!,
    datapathId: seen.datapathId ?? '',
    patchOfport: seen.patchOfport,
    physicalPatchOfport: seen.physicalPatchOfport,
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
 */
async function dropStaleStaticRules(runner: CommandRunner, p: OvsBridgeInputs, cookie: string, patchOfport: number, uplinkOfport: number): Promise<void> {
  const physical = parseBridgeName(p.patch.physicalBridge, 'patch.physicalBridge');
  const ours = (await dumpForeignFlows(runner, physical, parseCookie(cookie), { bare: true })) ?? [];
  for (const f of ours) {
    const inPort = matchField(f, 'in_port');
    if (inPort === undefined || !/^\d+$/.test(inPort)) continue;
    const port = Number(inPort);
    if (port === patchOfport) continue;
    await delForeignFlowStrict(runner, physical, staticFlow(cookie, port, uplinkOfport));
  }
}

/** Removes only what carries this owner's mark; absent things are fine. */
async function teardown(runner: CommandRunner, p: OvsBridgeInputs): Promise<void> {
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
    return withHostLock(inputs.connection, async () => {
      const existed = await bridgeInfo(runner, parseBridgeName(inputs.name, 'name'));
      try {
        const outs = await converge(runner, inputs);
        return { id: `${inputs.connection.host}/${inputs.name}`, outs };
      } catch (err) {
        // Roll back what this create added (never a bridge that was there before), and name
        // what could not be removed: a stranded bridge must not go unreported.
        if (!existed) {
          return rollBack(err, `creating bridge ${inputs.name} on ${inputs.connection.host}`, [
            { what: `bridge ${inputs.name} and its patch ports`, where: inputs.connection.host, run: () => teardown(runner, inputs) },
          ]);
        }
        throw err;
      }
    });
  },

  async read(id, props: OvsBridgeOutputs) {
    const runner = runnerFor(props);
    return withHostLock(props.connection, async () => {
      const seen = await observe(runner, props);
      if (!seen) return { id: '', props: {} };
      return { id, props: { ...props, ...seen } };
    });
  },

  async update(_id, olds: OvsBridgeOutputs, news: OvsBridgeInputs) {
    const runner = runnerFor(news);
    return withHostLock(news.connection, async () => {
      const outs = await converge(runner, news);
      // Internal ports that left the inputs go (only ours, by the owner mark).
      const kept = new Set(news.internalPorts.map((i) => i.name));
      const gone = (olds.internalPorts ?? []).filter((i) => !kept.has(i.name));
      if (gone.length) {
        const txn = new VsctlTxn();
        for (const i of gone) {
          const info = await portInfo(runner, parseInterfaceName(i.name, 'internalPorts.name'));
          if (info?.externalIds[OWNER_KEY] === news.owner) txn.delPort(parseInterfaceName(i.name, 'internalPorts.name'), { ifExists: true });
        }
        if (!txn.isEmpty) await txn.run(runner);
      }
      return { outs };
    });
  },

  async delete(_id, props: OvsBridgeOutputs) {
    const runner = runnerFor(props);
    await withHostLock(props.connection, () => teardown(runner, props));
  },
};
