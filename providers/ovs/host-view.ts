/**
 * What a read (a refresh) of a bridge, a tunnel end or a path hop needs from its host, in ONE
 * round trip: every Bridge, Port and Interface (ovs-vsctl), every flow of the physical bridge,
 * and the groups and flows of the bridges the paths use. Reads of one host share it
 * (exec/shared-reads.ts): the bridge, its tunnel ends and the path hops all ask for the same
 * whole view, so whichever the engine reads first on a host serves the others, and they cost
 * no command of their own.
 */
import { RemoteCommandError, runBatch, type BatchResult, type BatchStep, type CommandRunner } from '../exec';
import { SharedReads } from '../exec/shared-reads';
import { dumpFlowsStep, dumpGroupsStep, parseDumpFlows, parseDumpGroups, parseStepOutput, type DumpedFlow, type DumpedGroup } from './ofctl';
import { dumpRulesStep, rulesFrom } from './physical';
import { parseBridgeName, type BridgeName } from './values';
import { hostListStep, parseHostList, type HostList } from './vsctl';

/** A bridge's OpenFlow tables as the paths see them. */
export interface BridgeTables {
  readonly groups: readonly DumpedGroup[];
  readonly flows: readonly DumpedFlow[];
}

export interface HostViewRequest {
  /** Every Bridge, Port and Interface row. */
  readonly rows?: boolean;
  /** A bridge VPM does not create, whose flows are read (the physical bridge, br0). */
  readonly physical?: BridgeName;
  /** Bridges whose groups and flows are read (a path's switch). */
  readonly switches?: readonly BridgeName[];
}

/** One host's parts, each as read or as the error that reading it gave. */
interface HostView {
  readonly rows?: HostList;
  /** Per physical bridge: its flows, undefined when there is no such bridge. */
  readonly physical: ReadonlyMap<string, readonly DumpedFlow[] | undefined>;
  readonly switches: ReadonlyMap<string, BridgeTables | RemoteCommandError>;
}

const views = new SharedReads<HostView>();

const part = {
  rows: 'rows',
  physical: (br: string) => `physical ${br}`,
  switch: (br: string) => `switch ${br}`,
};

function partsOf(req: HostViewRequest): string[] {
  return [...(req.rows ? [part.rows] : []), ...(req.physical ? [part.physical(req.physical)] : []), ...(req.switches ?? []).map(part.switch)];
}

/** The view of `req`'s parts: shared with the other reads of this host (exec/shared-reads.ts). */
function readHostView(runner: CommandRunner, req: HostViewRequest, tag?: string): Promise<HostView> {
  const physical = req.physical === undefined ? undefined : parseBridgeName(req.physical, 'physicalBridge');
  const switches = (req.switches ?? []).map((b) => parseBridgeName(b, 'bridge'));
  return views.read(runner, partsOf({ rows: req.rows, physical, switches }), () => listHost(runner, req.rows === true, physical, switches, tag));
}

/** ONE batch. A switch whose dump fails (exit 1: no such bridge) fails only its own part. */
async function listHost(runner: CommandRunner, rows: boolean, physical: BridgeName | undefined, switches: readonly BridgeName[], tag?: string): Promise<HostView> {
  const tolerant = (s: BatchStep): BatchStep => ({ ...s, okExitCodes: [0, 1] });
  const rowsStep = rows ? hostListStep() : undefined;
  const physicalStep = physical === undefined ? undefined : dumpRulesStep(physical);
  const switchSteps = switches.map((br) => [tolerant(dumpGroupsStep(br)), tolerant(dumpFlowsStep(br))] as const);
  const steps = [...(rowsStep ? [rowsStep] : []), ...(physicalStep ? [physicalStep] : []), ...switchSteps.flat()];
  const results = await runBatch(runner, steps, { readOnly: true, ...(tag ? { tag } : {}) });
  let i = 0;
  const next = () => results[i++];
  const list = rowsStep ? parseHostList(runner.host, next()) : undefined;
  const physicalFlows = new Map<string, DumpedFlow[] | undefined>();
  if (physical !== undefined && physicalStep) physicalFlows.set(physical, rulesFrom(runner.host, physicalStep, next()));
  const tables = new Map<string, BridgeTables | RemoteCommandError>();
  switches.forEach((br, k) => tables.set(br, tablesFrom(runner.host, switchSteps[k], next(), next())));
  return { ...(list ? { rows: list } : {}), physical: physicalFlows, switches: tables };
}

function tablesFrom(host: string, [groupStep, flowStep]: readonly [BatchStep, BatchStep], g: BatchResult, f: BatchResult): BridgeTables | RemoteCommandError {
  for (const [step, r] of [[groupStep, g], [flowStep, f]] as const) {
    if (r.exitCode !== 0) return new RemoteCommandError(host, step.argv, r.exitCode, r.stderr, r.stdout);
  }
  try {
    return { groups: parseStepOutput(host, groupStep, g, parseDumpGroups), flows: parseStepOutput(host, flowStep, f, parseDumpFlows) };
  } catch (e) {
    if (e instanceof RemoteCommandError) return e;
    throw e;
  }
}

export interface HostSnapshot extends HostList {
  /** Every flow of the physical bridge; undefined when it could not be dumped (no such bridge). */
  readonly physicalFlows?: readonly DumpedFlow[];
}

/**
 * For the read of a bridge or a tunnel end: the host's rows and its physical bridge's flows.
 * `ownSwitch` (the bridge's own, the tunnel end's) is dumped in the same round trip for the
 * path hops that read it next; the bridge and its tunnel ends ask for the same parts, so
 * whichever of them the engine reads first serves the others.
 */
export async function readHostSnapshot(runner: CommandRunner, physicalBridge: BridgeName, tag?: string, ownSwitch?: BridgeName): Promise<HostSnapshot> {
  const view = await readHostView(runner, { rows: true, physical: physicalBridge, ...(ownSwitch ? { switches: [ownSwitch] } : {}) }, tag);
  const flows = view.physical.get(physicalBridge);
  return { ...view.rows!, ...(flows ? { physicalFlows: flows } : {}) };
}

/**
 * For the read of a path hop: the switch's groups and flows (RemoteCommandError when they
 * cannot be dumped). It asks for the host's whole view, as the bridge and the tunnel ends do
 * (`underlay`: the physical bridge they name), so whichever the engine reads first on a host
 * serves the others.
 */
export async function readSwitchTables(runner: CommandRunner, bridge: BridgeName, underlay: BridgeName, tag?: string): Promise<BridgeTables> {
  const br = parseBridgeName(bridge, 'bridge');
  const tables = (await readHostView(runner, { rows: true, physical: underlay, switches: [br] }, tag)).switches.get(br)!;
  if (tables instanceof RemoteCommandError) throw tables;
  return tables;
}
