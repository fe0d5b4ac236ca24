/**
 * FlowPath's switches in memory, for suites that run the real provider without hosts: the
 * provider's round trips to a switch (providers/flow-path/switch-io: a read, a write with its
 * neighbours and what it reads after it, a bundle) are routed per switch to plan.ts's applyOps (the
 * OVS bundle semantics the unit tests pin: a bundle the switch's state refuses, e.g. `group
 * add` of a group that exists, is refused whole, as OVS does); no command ever runs.
 */
import { RemoteCommandError } from '../../providers/exec/errors';
import * as pool from '../../providers/exec/pool';
import * as appctl from '../../providers/ovs/appctl';
import * as ofctl from '../../providers/ovs/ofctl';
import * as io from '../../providers/flow-path/switch-io';
import { MARKER_TABLE, applyOps, type SwitchState } from '../../providers/flow-path/plan';
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
  /** The tunnel neighbours a write or read seeds on host `k` (before its bundle or dumps). */
  readonly neighbours?: (k: K, host: string, entries: readonly io.Neighbour[]) => void;
}

/** A bundle on the model: applied, or refused whole (the model's OFPGMFC_* errors) as OVS refuses it. */
function bundleOn<K>(r: SwitchRouting<K>, k: K, host: string, ops: ofctl.BundleOps): void {
  // The text must serialise; no ops, no command (as switch-io sends none).
  if (!ofctl.bundleCommand('br1' as never, ops)) return;
  r.beforeBundle?.(k, host);
  let next: SwitchState;
  try {
    next = applyOps(r.state(k), ops);
  } catch (e) {
    throw new RemoteCommandError(host, ['ovs-ofctl', 'bundle'], 1, (e as Error).message);
  }
  r.set(k, next);
  r.afterBundle?.(k);
}

/** Spies that route FlowPath's round trips to the switches of `r` (restore them, or jest.restoreAllMocks). */
export function routeFlowPathToSwitches<K>(r: SwitchRouting<K>): jest.SpyInstance[] {
  return [
    jest.spyOn(pool, 'getRunner').mockImplementation((spec) => ({ host: spec.host, run: () => Promise.reject(new Error('no command may run')) }) as never),
    jest.spyOn(appctl, 'tnlNeighRelease').mockResolvedValue({ removed: [], stillUsed: [], left: [] }),
    jest.spyOn(io, 'readSwitch').mockImplementation(async (runner, _bridge, neighbours = []) => {
      const k = r.reach(runner.host);
      if (neighbours.length) r.neighbours?.(k, runner.host, neighbours);
      return r.state(k);
    }),
    // A read's dump (shared between overlapping reads on a real host): the switch as it is now.
    jest.spyOn(io, 'readSwitchShared').mockImplementation(async (runner) => r.state(r.reach(runner.host))),
    jest.spyOn(io, 'writeSwitch').mockImplementation(async (runner, _bridge, neighbours, ops) => {
      const k = r.reach(runner.host);
      if (neighbours.length) r.neighbours?.(k, runner.host, neighbours);
      try {
        bundleOn(r, k, runner.host, ops);
      } catch (e) {
        // The batch goes on to its dumps after a refused bundle (writeSwitch's contract).
        if (e instanceof RemoteCommandError) return { applied: false, refusal: e, state: r.state(k) };
        throw e;
      }
      // Accepted: the marker table only.
      return { applied: true, markers: r.state(k).flows.filter((f) => f.table === MARKER_TABLE) };
    }),
    jest.spyOn(io, 'applySwitch').mockImplementation(async (runner, _bridge, ops) => bundleOn(r, r.reach(runner.host), runner.host, ops)),
  ];
}

/** FlowPath's `check` of `args`: the inputs create and update take (fails on any failure). */
export async function checkedFlowPath(args: Record<string, unknown>): Promise<FlowPathInputs> {
  const r = (await provider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}
