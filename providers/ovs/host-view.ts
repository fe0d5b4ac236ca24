/**
 * What a read (a refresh) of a bridge, a tunnel end or a path hop needs from its host, in ONE
 * round trip: every Bridge, Port and Interface (ovs-vsctl), every flow of the physical bridge,
 * and the groups and flows of the overlay bridge the paths use. Reads of one host share it
 * (exec/shared-reads.ts): the bridge, its tunnel ends and the path hops all ask for this same
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

export interface HostSnapshot extends HostList {
  /** Every flow of the physical bridge; undefined when it could not be dumped (no such bridge). */
  readonly physicalFlows?: readonly DumpedFlow[];
}

/** One host's view: the rows and the physical bridge's flows, and the overlay's tables or the error dumping them gave. */
interface HostView {
  readonly snapshot: HostSnapshot;
  readonly overlay: BridgeTables | RemoteCommandError;
}

const views = new SharedReads<HostView>();

/** The host's whole view: shared with the other reads of this host that name the same two bridges. */
function readHostView(runner: CommandRunner, physical: BridgeName, overlay: BridgeName, tag?: string): Promise<HostView> {
  const phy = parseBridgeName(physical, 'physicalBridge');
  const ovl = parseBridgeName(overlay, 'bridge');
  return views.read(runner, ['rows', `physical ${phy}`, `switch ${ovl}`], () => listHost(runner, phy, ovl, tag));
}

/** ONE batch. The overlay's dumps failing (exit 1: no such bridge) fail only the path hops' part. */
async function listHost(runner: CommandRunner, physical: BridgeName, overlay: BridgeName, tag?: string): Promise<HostView> {
  const tolerant = (s: BatchStep): BatchStep => ({ ...s, okExitCodes: [0, 1] });
  const physicalStep = dumpRulesStep(physical);
  const groupStep = tolerant(dumpGroupsStep(overlay));
  const flowStep = tolerant(dumpFlowsStep(overlay));
  const [rows, physicalDump, groups, flows] = await runBatch(runner, [hostListStep(), physicalStep, groupStep, flowStep], { readOnly: true, ...(tag ? { tag } : {}) });
  const physicalFlows = rulesFrom(runner.host, physicalStep, physicalDump);
  return {
    snapshot: { ...parseHostList(runner.host, rows), ...(physicalFlows ? { physicalFlows } : {}) },
    overlay: tablesFrom(runner.host, [groupStep, groups], [flowStep, flows]),
  };
}

function tablesFrom(host: string, [groupStep, g]: readonly [BatchStep, BatchResult], [flowStep, f]: readonly [BatchStep, BatchResult]): BridgeTables | RemoteCommandError {
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

/** For the read of a bridge or a tunnel end: the host's rows and its physical bridge's flows (from the host's whole view). */
export async function readHostSnapshot(runner: CommandRunner, physicalBridge: BridgeName, overlay: BridgeName, tag?: string): Promise<HostSnapshot> {
  return (await readHostView(runner, physicalBridge, overlay, tag)).snapshot;
}

/**
 * For the read of a path hop: the overlay bridge's groups and flows (RemoteCommandError when
 * they cannot be dumped), from the host's whole view (`underlay`: the physical bridge the
 * bridge and the tunnel ends name).
 */
export async function readSwitchTables(runner: CommandRunner, bridge: BridgeName, underlay: BridgeName, tag?: string): Promise<BridgeTables> {
  const tables = (await readHostView(runner, underlay, bridge, tag)).overlay;
  if (tables instanceof RemoteCommandError) throw tables;
  return tables;
}
