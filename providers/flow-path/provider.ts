/**
 * The FlowPath provider. Order across the path (no packet is ever forwarded into a hop that
 * is not ready): install every non-root hop in parallel, then the root (the only way in);
 * remove the root first, then the rest in parallel. Per hop: one dump of groups and flows and
 * one atomic bundle, under that host's lock (paths sharing a switch never race in-process).
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith, type CheckFailure } from '../common/check';
import { joinConnection } from '../common/connection-input';
import { cookieFor } from '../common/owner';
import { PROVIDER_VERSION } from '../common/version';
import * as schemas from '../common/schemas';
import type { CommandRunner } from '../exec/runner';
import { getRunner, withHostLock } from '../exec/pool';
import { tnlNeighSet } from '../ovs/appctl';
import { applyBundle, dumpFlows, dumpGroups } from '../ovs/ofctl';
import { parseBridgeName, parseIpv4, parseMac } from '../ovs/values';
import { describePlan, installOps, missingParts, planPath, receiverMacFor, removeOps, type HopPlan, type SwitchState } from './plan';
import type { FlowPathInputs, FlowPathOutputs } from './types';

const HOP = z
  .object({
    node: z.string().min(1, 'node must name the topology node'),
    connection: schemas.connection,
    bridge: schemas.ifaceName('bridge'),
    inPort: schemas.ofport('inPort'),
    outPort: schemas.ofport('outPort'),
    vmPort: schemas.ofport('vmPort').optional(),
    vmMac: schemas.mac('vmMac').optional(),
    vmIp: schemas.ipv4('vmIp').optional(),
    neighbours: z.array(z.object({ ip: schemas.ipv4('neighbours.ip'), mac: schemas.mac('neighbours.mac') }).strict()).optional(),
  })
  .strict();

const INPUTS = z
  .object({
    pathId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/, 'pathId must be 1..64 letters, digits, _ . : @ -'),
    stream: z.object({ udpDst: z.number().int().min(1, 'udpDst must be 1..65535').max(65535, 'udpDst must be 1..65535'), srcIp: schemas.ipv4('srcIp').optional() }).strict(),
    hops: z.array(HOP).min(2, 'a path needs at least two hops (the root and the leaf)'),
    privateKeys: z.array(z.string().optional().nullable()).optional(),
    egress: z.object({ receiverIp: schemas.ipv4('receiverIp'), receiverMac: schemas.mac('receiverMac').optional(), srcMac: schemas.mac('srcMac') }).strict(),
    owner: z.string().min(1).optional(),
    cookie: z.string().optional(),
    flows: z.unknown().optional(),
  })
  .strict();

function fullInputs(v: z.infer<typeof INPUTS>): { inputs?: FlowPathInputs; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const receiverMac = receiverMacFor(v.egress.receiverIp, v.egress.receiverMac);
  if (!receiverMac) failures.push({ property: 'egress.receiverMac', reason: `receiver ${v.egress.receiverIp} is unicast: give its MAC address (egress.receiverMac)` });
  if (v.hops[0].vmPort !== undefined) failures.push({ property: 'hops[0].vmPort', reason: 'the root sends the stream straight on: give the source VM port as hops[0].inPort instead' });
  const seen = new Set<string>();
  v.hops.forEach((h, i) => {
    const key = `${h.connection.host}|${h.connection.netns ?? ''}|${h.bridge}`;
    if (seen.has(key)) failures.push({ property: `hops[${i}]`, reason: `hop ${h.node} repeats a switch already on the path: a path visits each switch once` });
    seen.add(key);
  });
  if (failures.length) return { failures };
  const inputs: FlowPathInputs = {
    pathId: v.pathId,
    // The owner (project/stack/resource) is in the cookie, so two stacks never share markers.
    cookie: cookieFor(`path:${v.owner ?? v.pathId}`),
    ...(v.owner ? { owner: v.owner } : {}),
    stream: v.stream,
    hops: v.hops.map((h) => ({ ...h, connection: h.connection as unknown as FlowPathInputs['hops'][number]['connection'] })),
    // Protobuf structs cannot carry undefined: absent keys are null, and no list when none is given.
    ...(v.privateKeys?.some((k) => k) ? { privateKeys: v.privateKeys.map((k) => k ?? null) } : {}),
    egress: { receiverIp: v.egress.receiverIp, receiverMac: receiverMac!, srcMac: v.egress.srcMac },
    flows: [],
  };
  try {
    inputs.flows = describePlan(planPath(inputs));
  } catch (e) {
    return { failures: [{ property: 'hops', reason: e instanceof Error ? e.message : String(e) }] };
  }
  return { inputs, failures: [] };
}

function runnerFor(p: FlowPathInputs, index: number): CommandRunner {
  return getRunner(joinConnection(p.hops[index].connection, p.privateKeys?.[index] ?? undefined));
}

async function switchState(runner: CommandRunner, bridge: string): Promise<SwitchState> {
  const br = parseBridgeName(bridge, 'bridge');
  const [groups, flows] = await Promise.all([dumpGroups(runner, br), dumpFlows(runner, br)]);
  return { groups, flows };
}

async function installHop(p: FlowPathInputs, plan: HopPlan): Promise<void> {
  const runner = runnerFor(p, plan.index);
  await withHostLock(plan.hop.connection, async () => {
    for (const n of plan.hop.neighbours ?? []) {
      await tnlNeighSet(runner, parseBridgeName('br0', 'bridge'), parseIpv4(n.ip, 'ip'), parseMac(n.mac, 'mac'));
    }
    const state = await switchState(runner, plan.hop.bridge);
    await applyBundle(runner, parseBridgeName(plan.hop.bridge, 'bridge'), installOps(plan, state, p.cookie));
  });
}

async function removeHop(p: FlowPathInputs, plan: HopPlan, keep: HopPlan | undefined): Promise<void> {
  const runner = runnerFor(p, plan.index);
  await withHostLock(plan.hop.connection, async () => {
    let state: SwitchState;
    try {
      state = await switchState(runner, plan.hop.bridge);
    } catch (err) {
      // The bridge itself is gone: nothing of this path can be left on it.
      if (/not a bridge|no such bridge|is not a bridge/i.test(String(err))) return;
      throw err;
    }
    await applyBundle(runner, parseBridgeName(plan.hop.bridge, 'bridge'), removeOps(plan, state, p.cookie, keep?.segments ?? []));
  });
}

function hopKey(h: HopPlan): string {
  return `${h.hop.connection.host}|${h.hop.connection.netns ?? ''}|${h.hop.bridge}`;
}

async function install(p: FlowPathInputs): Promise<void> {
  const plans = planPath(p);
  await Promise.all(plans.filter((h) => !h.isRoot).map((h) => installHop(p, h)));
  await installHop(p, plans[0]);
}

/** Removes the path's part, except what `keep` (the new version of the same path) still uses. */
async function remove(p: FlowPathInputs, keep?: FlowPathInputs): Promise<void> {
  const plans = planPath(p);
  const keepPlans = new Map((keep ? planPath(keep) : []).map((h) => [hopKey(h), h]));
  const root = plans[0];
  await removeHop(p, root, keepPlans.get(hopKey(root)));
  await Promise.all(plans.filter((h) => !h.isRoot).map((h) => removeHop(p, h, keepPlans.get(hopKey(h)))));
}

async function observe(p: FlowPathInputs): Promise<string[]> {
  const plans = planPath(p);
  const missing = await Promise.all(
    plans.map(async (h) => {
      const runner = runnerFor(p, h.index);
      try {
        return missingParts(h, await switchState(runner, h.hop.bridge), p.cookie);
      } catch (err) {
        return [`${h.hop.node}: cannot read bridge ${h.hop.bridge}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`];
      }
    }),
  );
  return missing.flat();
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const shape = checkWith(INPUTS, news);
    if (shape.failures.length || !shape.inputs) return shape;
    // Unknown values (preview) passed through unvalidated: keep them, compute nothing.
    if (JSON.stringify(shape.inputs).includes('04da6b54-80e4-46f7-96ec-b56ff0331ba9')) return shape;
    return fullInputs(shape.inputs as z.infer<typeof INPUTS>);
  },

  async diff(_id, olds: FlowPathOutputs, news: FlowPathInputs) {
    const replaces = olds.pathId !== news.pathId ? ['pathId'] : [];
    const changes =
      replaces.length > 0 ||
      (olds.missing ?? []).length > 0 ||
      olds.providerVersion !== PROVIDER_VERSION ||
      JSON.stringify([olds.stream, olds.hops, olds.egress, olds.flows, olds.privateKeys]) !==
        JSON.stringify([news.stream, news.hops, news.egress, news.flows, news.privateKeys]);
    return { changes, replaces };
  },

  async create(inputs: FlowPathInputs) {
    try {
      await install(inputs);
    } catch (err) {
      // Nothing is lost: take back what this create installed, then fail.
      await remove(inputs).catch(() => undefined);
      throw err;
    }
    const outs: FlowPathOutputs = { ...inputs, missing: [], providerVersion: PROVIDER_VERSION };
    return { id: `path:${inputs.pathId}`, outs };
  },

  async read(id, props: FlowPathOutputs) {
    const missing = await observe(props);
    return { id, props: { ...props, missing } };
  },

  async update(_id, olds: FlowPathOutputs, news: FlowPathInputs) {
    // New state first (packets may briefly be cloned onto both), then what only the old had.
    await install(news);
    await remove(olds, news);
    return { outs: { ...news, missing: [], providerVersion: PROVIDER_VERSION } };
  },

  async delete(_id, props: FlowPathOutputs) {
    await remove(props);
  },
};
