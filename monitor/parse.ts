/**
 * Strict parsers of what monitor/ reads from a host: `virsh list --all`, `virsh domjobinfo`
 * progress, the Interface rows of `ovs-vsctl --format=json list Interface`, and the per-path
 * packet counters in an `ovs-ofctl dump-flows` (see pathHopCounters for which flow counts).
 */
import {
  type DumpedFlowStats,
  parseOvsdbTables,
  decodeOptionalInteger,
  decodeOptionalString,
  decodeStringMap,
} from '../providers/ovs';
import { BACKUP_PRIORITY, MARKER_TABLE, PATH_PRIORITY, cookiesEqual as sameCookie, parseMarkers, sharedCookieText } from '../contracts';
import type { JobInfo } from '../providers/libvirt';

// The virsh list parser lives with the one virsh layer; re-exported for monitor's callers.
export { parseVirshList, type ListedDomain } from '../providers/libvirt';

export interface JobProgress {
  readonly type: string;
  readonly operation?: string;
  /** 0..1 from libvirt's data remaining / total, when it tells. */
  readonly progress?: number;
  readonly timeElapsedMs?: number;
  readonly dataProcessedBytes?: number;
  readonly dataRemainingBytes?: number;
  readonly dataTotalBytes?: number;
}

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
function sizeOf(v: string | undefined): number | undefined {
  const m = v === undefined ? null : /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)$/.exec(v);
  return m ? Math.round(Number(m[1]) * UNIT[m[2]]!) : undefined;
}

/** A running job (migration) from parsed domjobinfo; undefined when there is none. */
export function jobProgress(job: JobInfo): JobProgress | undefined {
  if (job.jobType === 'None') return undefined;
  const remaining = sizeOf(job.raw['Data remaining']);
  const total = job.dataTotalBytes;
  let progress: number | undefined;
  if (total !== undefined && total > 0 && remaining !== undefined) progress = Math.min(1, Math.max(0, 1 - remaining / total));
  else if (job.jobType === 'Completed') progress = 1;
  return {
    type: job.jobType,
    ...(job.operation ? { operation: job.operation } : {}),
    ...(progress !== undefined ? { progress: Math.round(progress * 1000) / 1000 } : {}),
    ...(job.timeElapsedMs !== undefined ? { timeElapsedMs: job.timeElapsedMs } : {}),
    ...(job.dataProcessedBytes !== undefined ? { dataProcessedBytes: job.dataProcessedBytes } : {}),
    ...(remaining !== undefined ? { dataRemainingBytes: remaining } : {}),
    ...(total !== undefined ? { dataTotalBytes: total } : {}),
  };
}

export interface InterfaceRow {
  readonly name: string;
  readonly type: string;
  readonly ofport?: number;
  readonly linkState?: string;
  readonly options: Readonly<Record<string, string>>;
  readonly bfdStatus: Readonly<Record<string, string>>;
}

/** The argv whose output parseInterfaces reads. */
export const LIST_INTERFACES_ARGV: readonly string[] = [
  'ovs-vsctl',
  '--timeout=10',
  '--format=json',
  '--columns=name,type,ofport,link_state,options,bfd_status',
  'list',
  'Interface',
];

/** Parses the output of LIST_INTERFACES_ARGV. */
export function parseInterfaces(stdout: string): InterfaceRow[] {
  const tables = parseOvsdbTables(stdout);
  return tables.flatMap((t) =>
    t.rows.map((r) => {
      const ofport = decodeOptionalInteger(r.ofport);
      const linkState = decodeOptionalString(r.link_state);
      return {
        name: String(r.name),
        type: typeof r.type === 'string' ? r.type : '',
        ...(ofport !== undefined ? { ofport } : {}),
        ...(linkState !== undefined ? { linkState } : {}),
        options: decodeStringMap(r.options),
        bfdStatus: decodeStringMap(r.bfd_status),
      };
    }),
  );
}

export const TUNNEL_TYPES: ReadonlySet<string> = new Set(['gre', 'vxlan', 'geneve', 'stt', 'erspan', 'ip6gre']);

export interface SegmentCounters {
  readonly groupId: number;
  readonly bucketId: number;
  /** in_port of the shared flow (the segment's ingress). */
  readonly inPort?: number;
  readonly packets: number;
  readonly bytes: number;
  /** Age of the shared flow: its counters count from then. */
  readonly durationSec: number;
}

export interface HopCounters {
  /** One per ownership marker of this path on the bridge; empty when the path owns nothing there. */
  readonly segments: readonly SegmentCounters[];
  /** Markers naming a group whose shared flow is gone (the hop is broken). */
  readonly missing: readonly string[];
}

/**
 * The packet counters of one path on one switch.
 *
 * Which counter: FlowPath shares one table-0 flow per segment match (cookie 0x57<group id>)
 * among every path through that switch, and sends it to a `group type=all` with one bucket
 * per distinct action list; the path's ownership markers (table 250, the path's cookie,
 * metadata = group<<32 | bucket) say which groups it uses. A type=all group executes every
 * bucket for every packet, so each packet the shared flow matched was also sent through this
 * path's bucket: the shared flow's n_packets IS what this hop forwarded for the path (from
 * the moment the flow was installed, which `durationSec` tells; a path that joined a shared
 * hop later sees the earlier packets too). Group bucket statistics would add no information
 * (each bucket of a type=all group counts the same packets), so only dump-flows is read.
 * A backup route's segment (tagged, priority 1001) is found like a primary one. Whether a hop is
 * complete is judged elsewhere, against the path's plan (hop-judge.ts).
 */
export function pathHopCounters(flows: readonly DumpedFlowStats[], cookie: string): HopCounters {
  const markers = parseMarkers(flows.filter((f) => f.table === MARKER_TABLE)).filter((m) => sameCookie(m.owner, cookie));
  const segments: SegmentCounters[] = [];
  const missing: string[] = [];
  for (const m of markers) {
    const shared = flows.find(
      (f) => f.table === 0 && (f.priority === PATH_PRIORITY || f.priority === BACKUP_PRIORITY) && sameCookie(String(f.cookie), sharedCookieText(m.groupId)),
    );
    if (!shared) {
      missing.push(`flow to group ${m.groupId} missing`);
      continue;
    }
    const inPort = /(?:^|,)in_port=(\d+)(?:,|$)/.exec(shared.matchText);
    segments.push({
      groupId: m.groupId,
      bucketId: m.bucketId,
      ...(inPort ? { inPort: Number(inPort[1]) } : {}),
      packets: shared.nPackets,
      bytes: shared.nBytes,
      durationSec: shared.durationSec,
    });
  }
  return { segments, missing };
}
