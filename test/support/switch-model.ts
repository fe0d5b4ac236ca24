/**
 * FlowPath's switches in memory, for suites that run the real provider without hosts: the
 * provider's dumps and bundles (providers/ovs/ofctl) are routed per switch to plan.ts's
 * applyOps (the OVS bundle semantics the unit tests pin); no command ever runs.
 */
import * as pool from '../../providers/exec/pool';
import * as appctl from '../../providers/ovs/appctl';
import * as ofctl from '../../providers/ovs/ofctl';
import { applyOps, type SwitchState } from '../../providers/flow-path/plan';
import { provider } from '../../providers/flow-path/provider';
import type { FlowPathInputs } from '../../providers/flow-path/types';

export interface SwitchRouting<K> {
  /** The switch of a runner's host address; throws (as the transport would) when it is unreachable. */
  readonly reach: (host: string) => K;
  readonly state: (k: K) => SwitchState;
  readonly set: (k: K, s: SwitchState) => void;
  /** Before a bundle is applied: throw to make the switch refuse it. */
  readonly beforeBundle?: (k: K, host: string) => void;
  /** After a bundle was applied. */
  readonly afterBundle?: (k: K) => void;
}

/** Spies that route FlowPath's OVS calls to the switches of `r` (restore them, or jest.restoreAllMocks). */
export function routeFlowPathToSwitches<K>(r: SwitchRouting<K>): jest.SpyInstance[] {
  return [
    jest.spyOn(pool, 'getRunner').mockImplementation((spec) => ({ host: spec.host, run: () => Promise.reject(new Error('no command may run')) }) as never),
    jest.spyOn(appctl, 'tnlNeighSet').mockResolvedValue(undefined),
    jest.spyOn(appctl, 'tnlNeighRelease').mockResolvedValue({ removed: [], stillUsed: [], left: [] }),
    jest.spyOn(ofctl, 'dumpGroups').mockImplementation(async (runner) => r.state(r.reach(runner.host)).groups as ofctl.DumpedGroup[]),
    jest.spyOn(ofctl, 'dumpFlows').mockImplementation(async (runner) => r.state(r.reach(runner.host)).flows as ofctl.DumpedFlow[]),
    jest.spyOn(ofctl, 'applyBundle').mockImplementation(async (runner, _bridge, ops) => {
      const k = r.reach(runner.host);
      r.beforeBundle?.(k, runner.host);
      ofctl.bundleCommand('br1' as never, ops); // the text must serialise
      r.set(k, applyOps(r.state(k), ops));
      r.afterBundle?.(k);
    }),
  ];
}

/** FlowPath's `check` of `args`: the inputs create and update take (fails on any failure). */
export async function checkedFlowPath(args: Record<string, unknown>): Promise<FlowPathInputs> {
  const r = (await provider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}
