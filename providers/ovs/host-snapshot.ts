/**
 * What a read (a refresh) of a bridge or a tunnel end needs from its host, listed whole in
 * ONE round trip: every Bridge, Port and Interface (ovs-vsctl) and every flow of the physical
 * bridge (ovs-ofctl). Reads of the same host that overlap share it (exec/shared-reads.ts):
 * in a refresh the engine reads many resources at once, and a relay's bridge and its dozens
 * of tunnel ends then cost one or two commands there instead of one each. Each read still
 * sees the host as it was when it asked, or later.
 */
import { RemoteCommandError, runBatch, type CommandRunner } from '../exec';
import { runnerKey, SharedReads } from '../exec/shared-reads';
import { OFCTL_DEFAULT_VERSION, parseDumpFlows, type DumpedFlow } from './ofctl';
import { parseBridgeName, type BridgeName } from './values';
import { hostListStep, parseHostList, type HostList } from './vsctl';

export interface HostSnapshot extends HostList {
  /** Every flow of the physical bridge; undefined when it could not be dumped (no such bridge). */
  readonly physicalFlows?: readonly DumpedFlow[];
}

const snapshots = new SharedReads<HostSnapshot>();

/** The host's snapshot, from a listing that started no earlier than this call. */
export function readHostSnapshot(runner: CommandRunner, physicalBridge: BridgeName, tag?: string): Promise<HostSnapshot> {
  const br = parseBridgeName(physicalBridge, 'physicalBridge');
  return snapshots.read(`${runnerKey(runner)}\0${br}`, async () => {
    const dump = { argv: [...OFCTL_DEFAULT_VERSION, '--no-names', '--no-stats', 'dump-flows', br], okExitCodes: [0, 1] };
    const [list, flows] = await runBatch(runner, [hostListStep(), dump], tag ? { tag } : {});
    let physicalFlows: DumpedFlow[] | undefined;
    if (flows.exitCode === 0) {
      try {
        physicalFlows = parseDumpFlows(flows.stdout);
      } catch (e) {
        throw new RemoteCommandError(runner.host, dump.argv, flows.exitCode, flows.stderr, flows.stdout, e instanceof Error ? e.message : String(e));
      }
    }
    return { ...parseHostList(runner.host, list), ...(physicalFlows ? { physicalFlows } : {}) };
  });
}
