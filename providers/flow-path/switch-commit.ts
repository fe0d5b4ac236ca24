/**
 * Group commit of path installs on one switch (a create's step on a hop).
 *
 * Why: paths share switches (the root's group is every path's of a stream, a relay's is every
 * path's through it), and a switch takes one write at a time (a userspace ovs-vswitchd also
 * forwards the streams on the thread that applies bundles and dumps). Written one path at a
 * time, the relay of a 64-hypervisor tree received 183 commands in a row. Here an install that
 * arrives while a write to its switch is in flight waits, and every install waiting then goes
 * in the NEXT write together: one round trip with their neighbour entries, ONE atomic bundle
 * holding all their parts, and the marker table after it. Each member's part is computed on the
 * state the members before it leave (switch-model applyOps), exactly as if they had gone one by one.
 *
 * What the bundle assumes of the switch: the groups this process believes are there (what its
 * own writes left, or its last dump of the switch), or none when it has not seen the switch.
 * The bundle checks itself: OVS refuses it whole when it adds a group that exists, or inserts a
 * bucket that exists or into a group that does not. A wrong assumption (another process
 * changed the switch) so costs one more round trip, computed from the dumps that come back
 * with the refusal (switch-io: only a refused bundle pays for them). Flows are not assumed: the
 * shared flows and the members' markers are always in the bundle (an `add` of a flow that is
 * there replaces it with itself).
 *
 * Writes hold the switch's lock (`lockKey`, the one FlowPath's read-modify-writes take), so a
 * commit never interleaves with a delete's or update's read and bundle in this process;
 * `noteSwitch` keeps the view right after those.
 */
import { isStateConflict, type BundleOps } from '../ovs';
import { GroupCommit, type CommandRunner, withHostLock } from '../exec';
import { registerProcessMemory } from '../exec/process-memory';
import { runnerKey } from '../exec/runner';
import { applyOps, installOps, mergeOps, type SwitchPlan, type SwitchState } from './plan';
import { firstPerIp, writeSwitch, type Neighbour } from './switch-io';

/** One path's part on the switch. */
export interface InstallRequest {
  readonly plan: SwitchPlan;
  readonly cookie: string;
  /** Tunnel neighbour entries the path seeds on this host. */
  readonly neighbours: readonly Neighbour[];
}

interface Member {
  readonly lockKey: string;
  readonly request: InstallRequest;
  readonly runner: CommandRunner;
  readonly bridge: string;
}

/** A member of the write under way, with how it ends. */
interface Settling extends Member {
  resolve(state: SwitchState): void;
  reject(err: unknown): void;
}

/** How often a commit is recomputed from the dumps of its refusal before it gives up. */
const ATTEMPTS = 3;

/**
 * The switches' groups as this process believes them (what its writes left, its dumps), per
 * connection and bridge. Keyed by the connection (runnerKey: the pool's identity), not by the
 * handle: the pool hands out a new handle on every getRunner, and a view kept per handle was
 * lost between paths, so every shared switch refused each later path's first bundle (two round
 * trips instead of one). A runner without an identity (a test's) is its own connection; a new
 * process starts knowing nothing. Only groups: flows are never assumed (see the header).
 */
const seen = new Map<string, Map<string, SwitchState['groups']>>();
registerProcessMemory(() => seen.clear());

/** Records what a write of this process left on the switch (undefined: not known any more). */
export function noteSwitch(runner: CommandRunner, bridge: string, state: SwitchState | undefined): void {
  const key = runnerKey(runner);
  let bridges = seen.get(key);
  if (!bridges) seen.set(key, (bridges = new Map()));
  if (state) bridges.set(bridge, state.groups);
  else bridges.delete(bridge);
}

/**
 * Installs one path's part on the switch, together with every other install waiting for it.
 * Resolves with the switch's groups as this process now believes them and its marker flows as
 * read right after the bundle that carried it (enough to find leftovers: ops gcOps).
 */
export function installOnSwitch(lockKey: string, runner: CommandRunner, bridge: string, request: InstallRequest): Promise<SwitchState> {
  return commits.submit(lockKey, { lockKey, request, runner, bridge });
}

/** One write (or a few, on refusals) per group, under the switch's lock; each member settles on its own. */
const commits = new GroupCommit<Member, SwitchState>((members) =>
  withHostLock(members[0].lockKey, async () => {
    const outcomes: Array<PromiseSettledResult<SwitchState>> = [];
    await commit(
      members.map((m, i) => ({
        ...m,
        resolve: (value: SwitchState) => (outcomes[i] = { status: 'fulfilled', value }),
        reject: (reason: unknown) => (outcomes[i] = { status: 'rejected', reason }),
      })),
    );
    return outcomes;
  }),
);

/** The members' parts folded over `assumed`, and the state they leave; a member whose part cannot be computed is rejected. */
function combine(members: readonly Settling[], assumed: SwitchState): { ready: Settling[]; ops: BundleOps; after: SwitchState } {
  const ready: Settling[] = [];
  let ops: BundleOps = {};
  let state = assumed;
  for (const m of members) {
    try {
      const part = installOps(m.request.plan, state, m.request.cookie);
      state = applyOps(state, part);
      ops = mergeOps(ops, part);
      ready.push(m);
    } catch (err) {
      m.reject(err); // e.g. a foreign group on one of its ids: its own error, named by installOps
    }
  }
  return { ready, ops, after: state };
}

function neighboursOf(members: readonly Member[]): Neighbour[] {
  return firstPerIp(members.flatMap((m) => m.request.neighbours));
}

/** One write (or a few, on refusals) for these members; settles every member, never throws. */
async function commit(members: Settling[]): Promise<void> {
  if (!members.length) return;
  const { runner, bridge } = members[0];
  let assumed: SwitchState = { groups: seen.get(runnerKey(runner))?.get(bridge) ?? [], flows: [] };
  for (let attempt = 1; ; attempt++) {
    const { ready, ops, after } = combine(members, assumed);
    if (!ready.length) return;
    members = ready;
    let written;
    try {
      // Entries are set in the first write only: a refused bundle comes after them.
      written = await writeSwitch(runner, bridge, attempt === 1 ? neighboursOf(members) : [], ops);
    } catch (err) {
      noteSwitch(runner, bridge, undefined);
      for (const m of members) m.reject(err);
      return;
    }
    if (written.applied) {
      // What the bundle left is what was assumed plus its parts: no dump needed to know it.
      noteSwitch(runner, bridge, after);
      for (const m of members) m.resolve({ groups: after.groups, flows: written.markers });
      return;
    }
    noteSwitch(runner, bridge, written.state);
    const refusal = written.refusal;
    const adding = new Set((ops.addGroups ?? []).map((g) => Number(g.id)));
    const conflict = isStateConflict(`${refusal.stderr}\n${refusal.stdout}`) || written.state.groups.some((g) => adding.has(g.id));
    if (!conflict && members.length > 1) {
      // Refused for another reason: one by one, so that each member meets its own error.
      for (const m of members) await commit([m]);
      return;
    }
    if (!conflict || attempt >= ATTEMPTS) {
      for (const m of members) m.reject(refusal);
      return;
    }
    assumed = written.state;
  }
}
