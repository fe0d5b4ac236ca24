/**
 * FlowPath's round trips to a switch, each ONE command on its host (exec runBatch):
 *   readSwitch    its groups and flows (two dumps, one round trip), optionally after neighbours
 *   writeSwitch   the path's tunnel neighbours (`tnl/neigh/set` on br0), then ONE atomic bundle,
 *                 then the marker table as it is after it: a create's whole step on a hop
 *   applySwitch   one bundle (a change computed from a read)
 * The bundle of writeSwitch may be refused (an optimistic bundle: it assumed which groups the
 * switch holds): only then does the batch go on to dump the groups and flows, and the caller
 * reads the refusal next to the state that explains it. Accepted, the bundle costs no dump but
 * the marker table's (a create looks there for leftovers of an earlier life of its path): on a
 * userspace datapath every ovs-ofctl run costs the hop CPU that the paths' creates in parallel
 * share, and a full dump holds up forwarding. Every command carries the trace tag `path`.
 */
import { RemoteCommandError, runBatch, type BatchStep, type CommandRunner } from '../exec';
import { readSwitchTables } from '../ovs/host-view';
import {
  OFCTL_TIMEOUT_MS,
  bundleStep,
  dumpFlowsStep,
  dumpGroupsStep,
  parseBridgeName,
  type DumpedFlow,
  parseDumpFlows,
  parseDumpGroups,
  parseIpv4,
  parseMac,
  parseStepOutput,
  type BundleOps,
} from '../ovs';
import { MARKER_TABLE } from './marker-table';
import type { SwitchState } from './switch-model';

/** The bench's trace classifies commands by this tag (bench/lib/trace.ts). */
export const PATH_TAG = 'path';

/** The physical bridge the tunnels leave by, where a path seeds its tunnel neighbours (OvsBridge's patch.physicalBridge in the trees VPM builds). */
export const UNDERLAY_BRIDGE = 'br0';

export interface Neighbour {
  readonly ip: string;
  readonly mac: string;
}

/** The entries with the first one given for each IP (a host's cache holds one MAC per IP). */
export function firstPerIp(entries: readonly Neighbour[]): Neighbour[] {
  const seen = new Set<string>();
  return entries.filter((n) => !seen.has(n.ip) && !!seen.add(n.ip));
}

/** What writeSwitch found: whether its bundle went in, and what it read after it. */
export type SwitchWrite =
  | {
      readonly applied: true;
      /** The switch's marker table (MARKER_TABLE) right after the bundle. */
      readonly markers: readonly DumpedFlow[];
    }
  | {
      /** The switch refused the bundle: nothing of it was applied. */
      readonly applied: false;
      /** The refusal, as the error the bundle alone would have thrown. */
      readonly refusal: RemoteCommandError;
      /** The switch's groups and flows after the refusal, from the same round trip. */
      readonly state: SwitchState;
    };

/** The tunnel neighbour entries as batch steps (`ovs-appctl tnl/neigh/set br0 <ip> <mac>`, as appctl.tnlNeighSet). */
function neighbourSteps(neighbours: readonly Neighbour[]): BatchStep[] {
  const br0 = parseBridgeName(UNDERLAY_BRIDGE, 'bridge');
  return neighbours.map((n) => ({ argv: ['ovs-appctl', 'tnl/neigh/set', br0, parseIpv4(n.ip, 'ip'), parseMac(n.mac, 'mac')] }));
}

/** The state from the dumps at steps g (groups) and f = g + 1 (flows). */
function parseState(runner: CommandRunner, steps: readonly BatchStep[], results: readonly { stdout: string; stderr: string; exitCode: number }[], g = steps.length - 2): SwitchState {
  const f = g + 1;
  return {
    groups: parseStepOutput(runner.host, steps[g], results[g], parseDumpGroups),
    flows: parseStepOutput(runner.host, steps[f], results[f], parseDumpFlows),
  };
}

/** The switch's groups and flows (after seeding `neighbours`, if any): one round trip. */
export async function readSwitch(runner: CommandRunner, bridge: string, neighbours: readonly Neighbour[] = []): Promise<SwitchState> {
  const br = parseBridgeName(bridge, 'bridge');
  const steps = [...neighbourSteps(neighbours), dumpGroupsStep(br), dumpFlowsStep(br)];
  const results = await runBatch(runner, steps, { tag: PATH_TAG, timeoutMs: OFCTL_TIMEOUT_MS });
  return parseState(runner, steps, results);
}

/**
 * readSwitch for a read (a refresh): the switch's tables from the host's view
 * (ovs/host-view.ts), which the paths through the switch and the bridge's own read share: a
 * relay's table is dumped about once per refresh, not once per path through it.
 */
export function readSwitchShared(runner: CommandRunner, bridge: string): Promise<SwitchState> {
  return readSwitchTables(runner, parseBridgeName(bridge, 'bridge'), parseBridgeName(UNDERLAY_BRIDGE, 'bridge'), PATH_TAG);
}

/**
 * ONE round trip: the neighbours, the bundle, the marker table; and only when the bundle was
 * refused (see SwitchWrite), the switch's groups and flows. A failing neighbour entry or dump
 * fails the whole step.
 */
export async function writeSwitch(runner: CommandRunner, bridge: string, neighbours: readonly Neighbour[], ops: BundleOps): Promise<SwitchWrite> {
  const br = parseBridgeName(bridge, 'bridge');
  const bundle = bundleStep(br, ops, [0, 1]);
  const at = neighbours.length; // the bundle's step
  const markers = dumpFlowsStep(br, { table: MARKER_TABLE });
  const steps: BatchStep[] = [
    ...neighbourSteps(neighbours),
    ...(bundle ? [bundle, markers, { ...dumpGroupsStep(br), onlyIfFailed: at }, { ...dumpFlowsStep(br), onlyIfFailed: at }] : [markers]),
  ];
  const results = await runBatch(runner, steps, { tag: PATH_TAG, timeoutMs: OFCTL_TIMEOUT_MS });
  const b = bundle ? results[at] : undefined;
  if (bundle && b && b.exitCode !== 0) {
    const refusal = new RemoteCommandError(runner.host, bundle.argv, b.exitCode, b.stderr, b.stdout);
    return { applied: false, refusal, state: parseState(runner, steps, results, at + 2) };
  }
  const m = bundle ? at + 1 : at;
  return { applied: true, markers: parseStepOutput(runner.host, steps[m], results[m], parseDumpFlows) };
}

/** ONE bundle (nothing when the ops are empty). */
export async function applySwitch(runner: CommandRunner, bridge: string, ops: BundleOps): Promise<void> {
  const step = bundleStep(parseBridgeName(bridge, 'bridge'), ops);
  if (!step) return;
  await runner.run(step.argv, { stdin: step.stdin, timeoutMs: OFCTL_TIMEOUT_MS, trace: { tag: PATH_TAG } });
}
