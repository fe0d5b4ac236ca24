/**
 * OpenFlow groups as data, and their `ovs-ofctl` text (OpenFlow 1.5: `-O OpenFlow15`, which
 * bucket ids, insert-buckets and remove-buckets need).
 *
 * Shared switches: a `type=all` group with one bucket per owner (path); an owner adds its
 * bucket with insert-buckets and removes it with remove-buckets by its bucket_id.
 * `type=ff` (fast_failover) buckets carry `watch_port` (a port number: OVS 3.1 rejects
 * `watch_port:LOCAL`) or `watch_group` (live while that group has a live bucket; an `all` group
 * whose buckets watch nothing is always live, which makes a last-resort bucket: OVS 3.1 refuses
 * an ff bucket that watches nothing).
 *
 * Texts (identical to what `dump-groups` prints back, bucket ids always explicit):
 *   add-group       group_id=5,type=all,bucket=bucket_id:1,actions=output:2,bucket=bucket_id:2,actions=...
 *                   group_id=7,type=ff,bucket=bucket_id:0,watch_port:3,actions=output:3,...,bucket=bucket_id:2,watch_group:5,actions=...
 *   insert-buckets  group_id=5,command_bucket_id=last,bucket=bucket_id:3,actions=output:4
 *   remove-buckets  group_id=5,command_bucket_id=3
 *   del-groups      group_id=5
 *
 * OVS 3.1 behaviour the callers must know: add-group of an existing id fails
 * (OFPGMFC_GROUP_EXISTS); inserting an existing bucket id fails (OFPGMFC_BUCKET_EXISTS);
 * removing an absent bucket id fails (OFPGMFC_UNKNOWN_BUCKET); insert/remove on an absent
 * group fails (OFPGMFC_UNKNOWN_GROUP); del-groups of an absent group succeeds; a flow whose
 * actions name an absent group is refused (OFPBAC_BAD_OUT_GROUP). So idempotent callers read
 * the group first (dumpGroups) and order bundles group-before-flow.
 */
import { ValidationError } from '../exec';
import { Action, Problem, checkActions } from './flow';
import { BucketId, GroupId, OfPortNumber, collect, parseBucketId, parseGroupId, parseOfPortNumber, show } from './values';

export type GroupType = 'all' | 'ff';

export interface Bucket {
  readonly id: BucketId;
  readonly actions: readonly Action[];
  /** `ff` groups need watchPort or watchGroup (or both); `all` groups allow neither. */
  readonly watchPort?: OfPortNumber;
  readonly watchGroup?: GroupId;
}

export interface Group {
  readonly id: GroupId;
  readonly type: GroupType;
  readonly buckets: readonly Bucket[];
}

/** Where insert-buckets puts the new buckets: after the last, before the first, or before bucket K. */
export type BucketPosition = 'last' | 'first' | BucketId;

const BUCKET_KEYS = new Set(['id', 'actions', 'watchPort', 'watchGroup']);

function checkType(type: unknown, property: string, problems: Problem[]): GroupType | undefined {
  if (type === 'all' || type === 'ff') return type;
  problems.push({ property, reason: `group type ${show(type)} is invalid: use 'all' or 'ff' (fast_failover)` });
  return undefined;
}

function checkBuckets(buckets: unknown, type: GroupType | undefined, property: string, problems: Problem[], allowEmpty: boolean): string[] {
  if (!Array.isArray(buckets) || (!allowEmpty && buckets.length === 0)) {
    problems.push({ property, reason: `buckets must be a ${allowEmpty ? '' : 'non-empty '}list, got ${show(buckets)}` });
    return [];
  }
  const seen = new Set<number>();
  const texts: string[] = [];
  buckets.forEach((b: unknown, i: number) => {
    const at = `${property}[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      problems.push({ property: at, reason: `bucket must be an object, got ${show(b)}` });
      return;
    }
    const bucket = b as Record<string, unknown>;
    for (const k of Object.keys(bucket)) {
      if (!BUCKET_KEYS.has(k)) problems.push({ property: `${at}.${k}`, reason: `unknown field ${show(k)}: allowed are id, actions, watchPort, watchGroup` });
    }
    const id = collect(problems, () => parseBucketId(bucket.id, `${at}.id`));
    if (id !== undefined) {
      if (seen.has(id)) problems.push({ property: `${at}.id`, reason: `bucket id ${id} appears twice: bucket ids must be unique in a group` });
      seen.add(id);
    }
    let watch = '';
    if (type === 'ff') {
      if (bucket.watchPort === undefined && bucket.watchGroup === undefined) {
        problems.push({ property: `${at}.watchPort`, reason: 'fast_failover (ff) buckets need a watchPort (a port number 1..65279) or a watchGroup' });
      }
      if (bucket.watchPort !== undefined) {
        const port = collect(problems, () => parseOfPortNumber(bucket.watchPort, `${at}.watchPort`));
        if (port !== undefined) watch += `,watch_port:${port}`;
      }
      if (bucket.watchGroup !== undefined) {
        const g = collect(problems, () => parseGroupId(bucket.watchGroup, `${at}.watchGroup`));
        if (g !== undefined) watch += `,watch_group:${g}`;
      }
    } else if (type === 'all') {
      for (const k of ['watchPort', 'watchGroup'] as const) {
        if (bucket[k] !== undefined) problems.push({ property: `${at}.${k}`, reason: `${k} is only meaningful in 'ff' groups; remove it from this 'all' group bucket` });
      }
    }
    const actions = checkActions(bucket.actions, `${at}.actions`, problems);
    texts.push(`bucket=bucket_id:${id ?? '?'}${watch},actions=${actions}`);
  });
  return texts;
}

function done<T>(problems: Problem[], value: T): T {
  if (problems.length > 0) throw new ValidationError(problems);
  return value;
}

/** Text of one bucket (`bucket=bucket_id:K[,watch_port:P],actions=...`). */
export function bucketToOfctl(bucket: Bucket, type: GroupType, property = 'bucket'): string {
  const problems: Problem[] = [];
  const [text] = checkBuckets([bucket], checkType(type, 'type', problems), property, problems, false);
  return done(problems, text);
}

/** `add-group` text. A group may start with no buckets (owners insert theirs later). */
export function groupToOfctl(group: Group, property = 'group'): string {
  const problems: Problem[] = [];
  const id = collect(problems, () => parseGroupId(group.id, `${property}.id`));
  const type = checkType(group.type, `${property}.type`, problems);
  const buckets = checkBuckets(group.buckets, type, `${property}.buckets`, problems, true);
  return done(problems, [`group_id=${id}`, `type=${type}`, ...buckets].join(','));
}

export interface InsertBuckets {
  readonly groupId: GroupId;
  /** The group's type, to check watch_port. */
  readonly type: GroupType;
  readonly buckets: readonly Bucket[];
  /** Default 'last'. */
  readonly position?: BucketPosition;
}

/** `insert-buckets` text. */
export function insertBucketsToOfctl(op: InsertBuckets, property = 'insertBuckets'): string {
  const problems: Problem[] = [];
  const id = collect(problems, () => parseGroupId(op.groupId, `${property}.groupId`));
  const type = checkType(op.type, `${property}.type`, problems);
  const position = op.position ?? 'last';
  let pos: string | undefined;
  if (position === 'last' || position === 'first') pos = position;
  else {
    const b = collect(problems, () => parseBucketId(position, `${property}.position`));
    if (b !== undefined) pos = String(b);
  }
  const buckets = checkBuckets(op.buckets, type, `${property}.buckets`, problems, false);
  return done(problems, [`group_id=${id}`, `command_bucket_id=${pos}`, ...buckets].join(','));
}

/** `remove-buckets` text for one bucket id. */
export function removeBucketToOfctl(groupId: GroupId, bucketId: BucketId, property = 'removeBucket'): string {
  const problems: Problem[] = [];
  const id = collect(problems, () => parseGroupId(groupId, `${property}.groupId`));
  const b = collect(problems, () => parseBucketId(bucketId, `${property}.bucketId`));
  return done(problems, `group_id=${id},command_bucket_id=${b}`);
}

/** `del-groups` text. */
export function delGroupToOfctl(groupId: GroupId, property = 'groupId'): string {
  return `group_id=${parseGroupId(groupId, property)}`;
}
