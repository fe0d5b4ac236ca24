/**
 * How `vpm status` judges one hop of a path: by what the path's own plan says must be on that
 * switch (model.ts ModelSwitch: the FlowPath's planSwitches, primary and backup segments), and
 * with the very check `pulumi refresh` runs (providers/flow-path/plan.ts missingParts: group,
 * bucket, fast-failover group, shared flow at the segment's own priority, ownership marker).
 * So status and refresh cannot disagree about a hop: a backup route's tagged flow (priority
 * 1001, dl_src match) is expected where the plan puts it and nowhere else, and a flow deleted by
 * hand turns exactly the hops that needed it `missing`.
 *
 * Counters: each segment's shared table-0 flow counts what the switch forwarded for it (a
 * `group type=all` runs every bucket for every packet; see parse.ts pathHopCounters).
 */
import type { DumpedFlowStats, DumpedGroup } from '../providers/ovs';
import { missingParts } from '../providers/flow-path/plan';
import type { ModelSwitch } from './model';
import type { SegmentCounters } from './parse';
import { cookiesEqual } from '../contracts';

export interface SegmentStatus extends SegmentCounters {
  /** Set on a backup segment: the relay it routes around. */
  readonly backupFor?: string;
}

export interface SwitchJudgement {
  readonly ok: boolean;
  /** As refresh reports them, without the node prefix ("in_port=N: flow to group G missing"). */
  readonly problems: readonly string[];
  readonly segments: readonly SegmentStatus[];
  /** The primary segment entering the hop (from the previous hop or the source), if present. */
  readonly entry?: SegmentStatus;
  /** The primary segment of what came back from the hop's VM, if the hop has one and it is present. */
  readonly fromVm?: SegmentStatus;
}

/** Judges one switch of a path from a dump of its flows (with counters) and groups. */
export function judgeSwitch(sw: ModelSwitch, cookie: string, flows: readonly DumpedFlowStats[], groups: readonly DumpedGroup[]): SwitchJudgement {
  const prefix = `${sw.plan.hop.node}: `;
  const problems = missingParts(sw.plan, { flows, groups }, cookie).map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p));
  const segments: SegmentStatus[] = [];
  for (const s of sw.plan.segments) {
    const f = flows.find((x) => x.table === 0 && x.priority === s.sharedFlow.priority && cookiesEqual(String(x.cookie), String(s.sharedFlow.cookie)));
    if (!f) continue;
    segments.push({
      groupId: s.groupId,
      bucketId: s.bucketId,
      inPort: s.inPort,
      packets: f.nPackets,
      bytes: f.nBytes,
      durationSec: f.durationSec,
      ...(s.backupFor ? { backupFor: s.backupFor } : {}),
    });
  }
  const primary = segments.filter((s) => !s.backupFor);
  const hop = sw.plan.hop;
  const entry = sw.backupOnly ? undefined : primary.find((s) => s.inPort === hop.inPort);
  const fromVm = hop.vmPort !== undefined && sw.plan.index > 0 ? primary.find((s) => s.inPort === hop.vmPort) : undefined;
  return { ok: problems.length === 0, problems, segments, ...(entry ? { entry } : {}), ...(fromVm ? { fromVm } : {}) };
}
