/**
 * Thin `ovs-ofctl` executors over a CommandRunner, and strict parsers of what OVS 3.1 prints.
 * Every command speaks OpenFlow 1.5 (`-O OpenFlow15`: bundles need 1.4, bucket ids 1.5), so
 * the bridge must list OpenFlow15 in its `protocols`.
 *
 * Batching: one `--bundle add-flows <br> -` (flows on stdin, one per line, atomic per switch)
 * when only flows change; one `bundle <br> -` (lines prefixed `flow ...` / `group ...`) when
 * groups change in the same step. Bundle order (so the result is what the ops say even when
 * the same flow is both deleted and added, and so no flow refers to a missing group):
 *   group add -> group insert_bucket -> flow delete (by cookie) -> flow delete_strict ->
 *   flow modify_strict -> flow add -> group remove_bucket -> group delete
 *
 * Dumps use `--no-names` (numbers, whatever the terminal) and parse lines like
 *   ` cookie=0x1, table=1, priority=100,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004 actions=output:2`
 * OVS omits cookie=0, table=0 and priority=32768, prints no header with --no-stats, and the
 * `OFPST_FLOW reply` header otherwise; the parser restores the defaults.
 */
import { RemoteCommandError, ValidationError, CommandRunner, type BatchResult, type BatchStep } from '../exec';
import { Flow, actionsToOfctl, flowToOfctl, matchToOfctl } from './flow';
import {
  Group,
  InsertBuckets,
  delGroupToOfctl,
  groupToOfctl,
  insertBucketsToOfctl,
  removeBucketToOfctl,
} from './group';
import {
  BridgeName,
  BucketId,
  Cookie,
  GroupId,
  OfPortNumber,
  formatCookie,
  isReservedCookie,
  parseBridgeName,
  parseCookie,
  parseGroupId,
  parseOfPortNumber,
  show,
} from './values';

export const OFCTL: readonly string[] = ['ovs-ofctl', '-O', 'OpenFlow15'];
/** Per-command timeout for ovs-ofctl (process start is ~20 ms; 1000 flows ~130 ms). */
export const OFCTL_TIMEOUT_MS = 30_000;
const DEFAULT_PRIORITY = 32768;

/** A flow as `dump-flows --no-stats` shows it. */
export interface DumpedFlow {
  readonly table: number;
  readonly priority: number;
  readonly cookie: Cookie;
  /** Match fields as OVS prints them (comparable with `matchToOfctl`), "" for match-all. */
  readonly matchText: string;
  /** Actions as OVS prints them (comparable with `actionsToOfctl`). */
  readonly actionsText: string;
}

export interface DumpedFlowStats extends DumpedFlow {
  readonly nPackets: number;
  readonly nBytes: number;
  readonly durationSec: number;
}

export interface DumpedBucket {
  readonly id: number;
  readonly watchPort?: number;
  readonly watchGroup?: number;
  readonly actionsText: string;
}

export interface DumpedGroup {
  readonly id: number;
  /** As printed: all, ff, select, indirect. */
  readonly type: string;
  readonly buckets: readonly DumpedBucket[];
}

/** Output of the switch that the parser does not understand (wrapped in RemoteCommandError by the executors). */
export class OfctlParseError extends Error {
  constructor(readonly line: string, reason: string) {
    super(`cannot parse ovs-ofctl output line ${show(line)}: ${reason}`);
    this.name = 'OfctlParseError';
  }
}

/** Flow attributes printed before the match (", " separated); everything else is the match. */
const FLOW_META_KEYS = new Set([
  'cookie', 'duration', 'table', 'n_packets', 'n_bytes', 'idle_age', 'hard_age', 'idle_timeout',
  'hard_timeout', 'importance', 'priority', 'send_flow_rem', 'check_overlap', 'reset_counts',
  'no_packet_counts', 'no_byte_counts',
]);
const MATCH_TOKEN = /^[a-z][a-z0-9_]*(=[^\s,=]+)?$/;
const UINT = /^(0|[1-9][0-9]*)$/;

function parseFlowLine(line: string, withStats: boolean): DumpedFlowStats {
  const trimmed = line.trim();
  let at = 0;
  if (!trimmed.startsWith('actions=')) {
    const i = trimmed.indexOf(' actions=');
    if (i < 0) throw new OfctlParseError(line, 'no "actions="');
    at = i + 1;
  }
  const head = trimmed.slice(0, at);
  const actionsText = trimmed.slice(at + 'actions='.length);
  if (actionsText === '' || /\s/.test(actionsText)) throw new OfctlParseError(line, 'unexpected actions text');
  const meta = new Map<string, string>();
  const match: string[] = [];
  for (const raw of head.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    if (FLOW_META_KEYS.has(key)) meta.set(key, eq < 0 ? '' : token.slice(eq + 1));
    else if (MATCH_TOKEN.test(token)) match.push(token);
    else throw new OfctlParseError(line, `unexpected token ${show(token)}`);
  }
  const uint = (key: string, dflt: number): number => {
    const v = meta.get(key);
    if (v === undefined) return dflt;
    if (!UINT.test(v)) throw new OfctlParseError(line, `${key}=${v} is not an unsigned integer`);
    return Number(v);
  };
  let cookie: Cookie;
  try {
    cookie = parseCookie(meta.get('cookie') ?? '0x0');
  } catch {
    throw new OfctlParseError(line, `bad cookie ${show(meta.get('cookie'))}`);
  }
  const flow = {
    table: uint('table', 0),
    priority: uint('priority', DEFAULT_PRIORITY),
    cookie,
    matchText: match.join(','),
    actionsText,
  };
  if (!withStats) return { ...flow, nPackets: 0, nBytes: 0, durationSec: 0 };
  const duration = meta.get('duration');
  if (duration === undefined || !/^[0-9]+(\.[0-9]+)?s$/.test(duration)) {
    throw new OfctlParseError(line, `missing or bad duration ${show(duration)}`);
  }
  if (!meta.has('n_packets') || !meta.has('n_bytes')) throw new OfctlParseError(line, 'missing n_packets/n_bytes');
  return { ...flow, nPackets: uint('n_packets', 0), nBytes: uint('n_bytes', 0), durationSec: Number(duration.slice(0, -1)) };
}

function dataLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^(OFPST_|NXST_)/.test(l.trim()));
}

/** Parses `dump-flows --no-stats` output. Throws OfctlParseError on anything unexpected. */
export function parseDumpFlows(text: string): DumpedFlow[] {
  return dataLines(text).map((l) => {
    const { nPackets: _p, nBytes: _b, durationSec: _d, ...flow } = parseFlowLine(l, false);
    return flow;
  });
}

/** Parses `dump-flows` output with statistics. */
export function parseDumpFlowStats(text: string): DumpedFlowStats[] {
  return dataLines(text).map((l) => parseFlowLine(l, true));
}

/** Parses `dump-groups` output (OpenFlow 1.5: bucket ids are always printed). */
export function parseDumpGroups(text: string): DumpedGroup[] {
  return dataLines(text).map((line) => {
    const [head, ...bucketTexts] = line.trim().split(',bucket=');
    const props = new Map<string, string>();
    for (const token of head.split(',')) {
      const eq = token.indexOf('=');
      if (eq < 0) throw new OfctlParseError(line, `unexpected group token ${show(token)}`);
      props.set(token.slice(0, eq), token.slice(eq + 1));
    }
    const id = props.get('group_id');
    const type = props.get('type');
    if (id === undefined || !UINT.test(id) || type === undefined) throw new OfctlParseError(line, 'no group_id/type');
    const buckets = bucketTexts.map((b): DumpedBucket => {
      const ai = b.indexOf('actions=');
      const pre = ai < 0 ? b : b.slice(0, ai);
      const actionsText = ai < 0 ? '' : b.slice(ai + 'actions='.length);
      const fields = new Map<string, number>();
      for (const token of pre.split(',')) {
        if (token === '') continue;
        const m = /^([a-z_]+):(0|[1-9][0-9]*)$/.exec(token);
        if (!m) throw new OfctlParseError(line, `unexpected bucket token ${show(token)}`);
        fields.set(m[1], Number(m[2]));
      }
      const bucketId = fields.get('bucket_id');
      if (bucketId === undefined) throw new OfctlParseError(line, 'bucket without bucket_id (dump with -O OpenFlow15)');
      return {
        id: bucketId,
        ...(fields.has('watch_port') ? { watchPort: fields.get('watch_port') } : {}),
        ...(fields.has('watch_group') ? { watchGroup: fields.get('watch_group') } : {}),
        actionsText,
      };
    });
    return { id: Number(id), type, buckets };
  });
}

function bridgeArg(bridge: BridgeName): string {
  return parseBridgeName(bridge, 'bridge');
}

function ownerCookie(cookie: Cookie, property = 'cookie'): string {
  const c = parseCookie(cookie, property);
  if (isReservedCookie(c)) {
    throw new ValidationError([
      { property, reason: `cookie ${c} selects unowned (0) or reserved flows: use an owner cookie` },
    ]);
  }
  return formatCookie(c);
}

async function runParsed<T>(runner: CommandRunner, argv: readonly string[], parse: (stdout: string) => T): Promise<T> {
  const result = await runner.run(argv, { timeoutMs: OFCTL_TIMEOUT_MS });
  try {
    return parse(result.stdout);
  } catch (e) {
    if (e instanceof OfctlParseError) {
      throw new RemoteCommandError(runner.host, argv, result.exitCode, result.stderr, result.stdout, e.message);
    }
    throw e;
  }
}

/** ONE `ovs-ofctl -O OpenFlow15 --bundle add-flows <bridge> -`, flows on stdin. No-op for no flows. */
export async function addFlowsBundle(runner: CommandRunner, bridge: BridgeName, flows: readonly Flow[]): Promise<void> {
  const br = bridgeArg(bridge);
  const lines = flows.map((f, i) => flowToOfctl(f, 'add', `flows[${i}]`));
  if (lines.length === 0) return;
  await runner.run([...OFCTL, '--bundle', 'add-flows', br, '-'], { stdin: lines.join('\n') + '\n', timeoutMs: OFCTL_TIMEOUT_MS });
}

export interface RemoveBucket {
  readonly groupId: GroupId;
  readonly bucketId: BucketId;
}

/** Everything one resource step changes on one switch; applied atomically (see header for the order). */
export interface BundleOps {
  readonly addGroups?: readonly Group[];
  readonly insertBuckets?: readonly InsertBuckets[];
  /** Delete every flow carrying one of these cookies (all tables). */
  readonly delCookies?: readonly Cookie[];
  readonly delStrict?: readonly Flow[];
  /** modify_strict: replace the actions of the flow with this identity and cookie. */
  readonly modify?: readonly Flow[];
  readonly add?: readonly Flow[];
  readonly removeBuckets?: readonly RemoveBucket[];
  readonly delGroups?: readonly GroupId[];
}

export interface BundleCommand {
  /** argv tail after OFCTL: `--bundle add-flows <br> -` or `bundle <br> -`. */
  readonly argv: readonly string[];
  readonly stdin: string;
}

/** The command and stdin for a bundle; undefined when there is nothing to do. Pure. */
export function bundleCommand(bridge: BridgeName, ops: BundleOps): BundleCommand | undefined {
  const br = bridgeArg(bridge);
  const flowLines: string[] = [
    ...(ops.delCookies ?? []).map((c, i) => `delete cookie=${ownerCookie(c, `delCookies[${i}]`)}/-1`),
    ...(ops.delStrict ?? []).map((f, i) => `delete_strict ${flowToOfctl(f, 'strict-del', `delStrict[${i}]`)}`),
    ...(ops.modify ?? []).map((f, i) => `modify_strict ${flowToOfctl(f, 'strict-modify', `modify[${i}]`)}`),
    ...(ops.add ?? []).map((f, i) => `add ${flowToOfctl(f, 'add', `add[${i}]`)}`),
  ];
  const groupsBefore = [
    ...(ops.addGroups ?? []).map((g, i) => `group add ${groupToOfctl(g, `addGroups[${i}]`)}`),
    ...(ops.insertBuckets ?? []).map((b, i) => `group insert_bucket ${insertBucketsToOfctl(b, `insertBuckets[${i}]`)}`),
  ];
  const groupsAfter = [
    ...(ops.removeBuckets ?? []).map(
      (r, i) => `group remove_bucket ${removeBucketToOfctl(r.groupId, r.bucketId, `removeBuckets[${i}]`)}`,
    ),
    ...(ops.delGroups ?? []).map((g, i) => `group delete ${delGroupToOfctl(g, `delGroups[${i}]`)}`),
  ];
  if (groupsBefore.length === 0 && groupsAfter.length === 0) {
    if (flowLines.length === 0) return undefined;
    return { argv: ['--bundle', 'add-flows', br, '-'], stdin: flowLines.join('\n') + '\n' };
  }
  const lines = [...groupsBefore, ...flowLines.map((l) => `flow ${l}`), ...groupsAfter];
  return { argv: ['bundle', br, '-'], stdin: lines.join('\n') + '\n' };
}

/** Applies BundleOps as ONE atomic OpenFlow bundle; nothing at all when ops are empty. */
export async function applyBundle(runner: CommandRunner, bridge: BridgeName, ops: BundleOps): Promise<void> {
  const cmd = bundleCommand(bridge, ops);
  if (!cmd) return;
  await runner.run([...OFCTL, ...cmd.argv], { stdin: cmd.stdin, timeoutMs: OFCTL_TIMEOUT_MS });
}

/**
 * The same commands as steps of a batch (exec runBatch: several commands in one round trip).
 * A bundle step is undefined when the ops are empty; `okExitCodes` lets a batch go on after a
 * refused bundle (an optimistic bundle whose refusal is read with the dumps that follow it).
 */
export function bundleStep(bridge: BridgeName, ops: BundleOps, okExitCodes?: readonly number[]): BatchStep | undefined {
  const cmd = bundleCommand(bridge, ops);
  if (!cmd) return undefined;
  return { argv: [...OFCTL, ...cmd.argv], stdin: cmd.stdin, ...(okExitCodes ? { okExitCodes } : {}) };
}

/** `dump-groups` as a batch step (parse its stdout with parseStepOutput + parseDumpGroups). */
export function dumpGroupsStep(bridge: BridgeName): BatchStep {
  return { argv: [...OFCTL, '--no-names', 'dump-groups', bridgeArg(bridge)] };
}

/** `dump-flows --no-stats` as a batch step (parse with parseStepOutput + parseDumpFlows). */
export function dumpFlowsStep(bridge: BridgeName, filter?: Cookie | FlowFilter): BatchStep {
  return { argv: [...OFCTL, '--no-stats', '--no-names', 'dump-flows', bridgeArg(bridge), ...filterArg(filter)] };
}

/** A batch step's stdout parsed; output the parser does not understand is a RemoteCommandError naming the step. */
export function parseStepOutput<T>(host: string, step: BatchStep, result: BatchResult, parse: (stdout: string) => T): T {
  try {
    return parse(result.stdout);
  } catch (e) {
    if (e instanceof OfctlParseError) throw new RemoteCommandError(host, step.argv, result.exitCode, result.stderr, result.stdout, e.message);
    throw e;
  }
}

/**
 * A bundle refused because the switch is not in the state its ops assumed (a group already
 * there or gone, a bucket already there or gone, a flow sending to a group that is gone), as
 * opposed to a malformed or otherwise impossible bundle: recompute from a fresh dump and retry.
 */
export function isStateConflict(text: string): boolean {
  return /OFPGMFC_(GROUP_EXISTS|UNKNOWN_GROUP|BUCKET_EXISTS|UNKNOWN_BUCKET)|OFPBAC_BAD_OUT_GROUP/.test(text);
}

/** `ovs-ofctl -O OpenFlow15 del-flows <bridge> cookie=0x../-1`. Succeeds when none exist. */
export async function delFlowsByCookie(runner: CommandRunner, bridge: BridgeName, cookie: Cookie): Promise<void> {
  await runner.run([...OFCTL, 'del-flows', bridgeArg(bridge), `cookie=${ownerCookie(cookie)}/-1`], {
    timeoutMs: OFCTL_TIMEOUT_MS,
  });
}

export interface FlowFilter {
  /** Only flows with exactly this cookie (0x0 selects unowned flows). */
  readonly cookie?: Cookie;
  readonly table?: number;
}

function filterArg(cookieOrFilter: Cookie | FlowFilter | undefined): string[] {
  const filter: FlowFilter | undefined = typeof cookieOrFilter === 'string' ? { cookie: cookieOrFilter } : cookieOrFilter;
  const tokens: string[] = [];
  if (filter?.table !== undefined) {
    if (!Number.isInteger(filter.table) || filter.table < 0 || filter.table > 253) {
      throw new ValidationError([{ property: 'filter.table', reason: `table ${show(filter.table)} is invalid: use an integer 0..253` }]);
    }
    tokens.push(`table=${filter.table}`);
  }
  if (filter?.cookie !== undefined) tokens.push(`cookie=${formatCookie(parseCookie(filter.cookie, 'filter.cookie'))}/-1`);
  return tokens.length ? [tokens.join(',')] : [];
}

/** The bridge's flows (optionally of one cookie, or a cookie + table filter), without statistics. */
export async function dumpFlows(runner: CommandRunner, bridge: BridgeName, filter?: Cookie | FlowFilter): Promise<DumpedFlow[]> {
  const argv = [...OFCTL, '--no-stats', '--no-names', 'dump-flows', bridgeArg(bridge), ...filterArg(filter)];
  return runParsed(runner, argv, parseDumpFlows);
}

/** The bridge's flows with packet/byte counters. */
export async function dumpFlowStats(runner: CommandRunner, bridge: BridgeName, filter?: Cookie | FlowFilter): Promise<DumpedFlowStats[]> {
  const argv = [...OFCTL, '--no-names', 'dump-flows', bridgeArg(bridge), ...filterArg(filter)];
  return runParsed(runner, argv, parseDumpFlowStats);
}

export async function addGroup(runner: CommandRunner, bridge: BridgeName, group: Group): Promise<void> {
  await runner.run([...OFCTL, 'add-group', bridgeArg(bridge), groupToOfctl(group)], { timeoutMs: OFCTL_TIMEOUT_MS });
}

export async function insertBuckets(runner: CommandRunner, bridge: BridgeName, op: InsertBuckets): Promise<void> {
  await runner.run([...OFCTL, 'insert-buckets', bridgeArg(bridge), insertBucketsToOfctl(op)], { timeoutMs: OFCTL_TIMEOUT_MS });
}

/** Removes buckets by id in ONE `--bundle remove-buckets <br> -` (fails if one is absent). */
export async function removeBuckets(
  runner: CommandRunner,
  bridge: BridgeName,
  groupId: GroupId,
  bucketIds: readonly BucketId[],
): Promise<void> {
  const br = bridgeArg(bridge);
  const lines = bucketIds.map((b, i) => removeBucketToOfctl(groupId, b, `bucketIds[${i}]`));
  if (lines.length === 0) return;
  await runner.run([...OFCTL, '--bundle', 'remove-buckets', br, '-'], { stdin: lines.join('\n') + '\n', timeoutMs: OFCTL_TIMEOUT_MS });
}

/** `del-groups <br> group_id=N`; succeeds when the group is absent. OVS also deletes flows that output to it. */
export async function deleteGroup(runner: CommandRunner, bridge: BridgeName, groupId: GroupId): Promise<void> {
  await runner.run([...OFCTL, 'del-groups', bridgeArg(bridge), delGroupToOfctl(groupId)], { timeoutMs: OFCTL_TIMEOUT_MS });
}

/** All groups, or the one group (empty list when it is absent). */
export async function dumpGroups(runner: CommandRunner, bridge: BridgeName, groupId?: GroupId): Promise<DumpedGroup[]> {
  const argv = [...OFCTL, '--no-names', 'dump-groups', bridgeArg(bridge)];
  if (groupId !== undefined) argv.push(String(parseGroupId(groupId)));
  return runParsed(runner, argv, parseDumpGroups);
}

/** How a switch's flows of some owner differ from the desired ones (refresh / drift). */
export interface FlowDrift {
  /** Desired flows with no flow of the same identity and cookie on the switch. */
  readonly missing: readonly Flow[];
  /** Same identity and cookie, other actions. */
  readonly changed: ReadonlyArray<{ readonly desired: Flow; readonly actual: DumpedFlow }>;
  /** Flows on the switch that no desired flow explains. */
  readonly extra: readonly DumpedFlow[];
}

/** Compares desired flows with dumped ones as text (the serializer prints what dump prints). */
export function flowDrift(desired: readonly Flow[], dumped: readonly DumpedFlow[]): FlowDrift {
  const key = (table: number, priority: number, cookie: string, match: string) => `${cookie} table=${table},priority=${priority},${match}`;
  const actual = new Map<string, DumpedFlow>();
  for (const d of dumped) actual.set(key(d.table, d.priority, d.cookie, d.matchText), d);
  const missing: Flow[] = [];
  const changed: Array<{ desired: Flow; actual: DumpedFlow }> = [];
  desired.forEach((f, i) => {
    flowToOfctl(f, 'add', `desired[${i}]`); // validates the whole flow first
    const k = key(f.table ?? 0, f.priority, formatCookie(parseCookie(f.cookie)), matchToOfctl(f.match, `desired[${i}].match`));
    const a = actual.get(k);
    if (!a) missing.push(f);
    else {
      actual.delete(k);
      if (a.actionsText !== actionsToOfctl(f.actions, `desired[${i}].actions`)) changed.push({ desired: f, actual: a });
    }
  });
  return { missing, changed, extra: [...actual.values()] };
}

/**
 * `ovs-ofctl -O OpenFlow15 packet-out <bridge> in_port=CONTROLLER,packet=<hex>,actions=output:<port>`:
 * the switch sends one frame (built by packet.ts, so only hex digits) out of one port.
 */
export async function packetOut(runner: CommandRunner, bridge: BridgeName, packetHex: string, outPort: OfPortNumber): Promise<void> {
  if (!/^(?:[0-9a-f]{2}){14,9000}$/.test(packetHex)) {
    throw new ValidationError([{ property: 'packet', reason: 'must be an Ethernet frame as lower-case hex (14..9000 bytes)' }]);
  }
  const port = parseOfPortNumber(outPort, 'outPort');
  await runner.run([...OFCTL, 'packet-out', bridgeArg(bridge), `in_port=CONTROLLER,packet=${packetHex},actions=output:${port}`], {
    timeoutMs: OFCTL_TIMEOUT_MS,
  });
}

/**
 * `ovs-ofctl` at OVS's default OpenFlow version (no `-O`), for a bridge VPM does not create:
 * the hypervisor's physical bridge (OvsBridge's `patch.physicalBridge`), whose `protocols`
 * VPM does not set and which need not list OpenFlow15. Only single-table, group-free flows of
 * one owner go there (OvsBridge's static rule), so the default version is enough. These
 * commands keep OVS's default timeout handling: the runner's own (60 s).
 */
export const OFCTL_DEFAULT_VERSION: readonly string[] = ['ovs-ofctl'];

export interface ForeignDumpOptions {
  /** `--no-names --no-stats` (numbers, no counters); default: as OVS prints by default. */
  readonly bare?: boolean;
  /** A missing bridge (exit 1) gives undefined instead of an error. */
  readonly missingOk?: boolean;
}

/**
 * The flows of one owner cookie on a bridge VPM does not create:
 * `ovs-ofctl [--no-names --no-stats] dump-flows <bridge> cookie=0x../-1`.
 */
export async function dumpForeignFlows(
  runner: CommandRunner,
  bridge: BridgeName,
  cookie: Cookie,
  options: ForeignDumpOptions = {},
): Promise<DumpedFlow[] | undefined> {
  const argv = [
    ...OFCTL_DEFAULT_VERSION,
    ...(options.bare ? ['--no-names', '--no-stats'] : []),
    'dump-flows',
    bridgeArg(bridge),
    `cookie=${ownerCookie(cookie)}/-1`,
  ];
  const result = await runner.run(argv, options.missingOk ? { okExitCodes: [0, 1] } : undefined);
  if (result.exitCode !== 0) return undefined;
  try {
    return options.bare ? parseDumpFlows(result.stdout) : parseDumpFlowStats(result.stdout);
  } catch (e) {
    if (e instanceof OfctlParseError) {
      throw new RemoteCommandError(runner.host, argv, result.exitCode, result.stderr, result.stdout, e.message);
    }
    throw e;
  }
}

/** `ovs-ofctl add-flow <bridge> <flow>` on a bridge VPM does not create. */
export async function addForeignFlow(runner: CommandRunner, bridge: BridgeName, flow: Flow): Promise<void> {
  await runner.run([...OFCTL_DEFAULT_VERSION, 'add-flow', bridgeArg(bridge), flowToOfctl(flow, 'add')]);
}

/** `ovs-ofctl --strict del-flows <bridge> <match>`: exactly this flow, on a bridge VPM does not create. */
export async function delForeignFlowStrict(runner: CommandRunner, bridge: BridgeName, flow: Flow): Promise<void> {
  await runner.run([...OFCTL_DEFAULT_VERSION, '--strict', 'del-flows', bridgeArg(bridge), flowToOfctl(flow, 'strict-del')]);
}

/** `ovs-ofctl del-flows <bridge> cookie=0x../-1` on a bridge VPM does not create. Succeeds when none exist. */
export async function delForeignFlowsByCookie(runner: CommandRunner, bridge: BridgeName, cookie: Cookie): Promise<void> {
  await runner.run([...OFCTL_DEFAULT_VERSION, 'del-flows', bridgeArg(bridge), `cookie=${ownerCookie(cookie)}/-1`]);
}

/**
 * The value of one field in a dumped flow's match (`in_port` of `udp,in_port=3,tp_dst=5004`
 * is "3"); undefined when the match does not set it.
 */
export function matchField(flow: Pick<DumpedFlow, 'matchText'>, field: string): string | undefined {
  for (const token of flow.matchText.split(',')) {
    const eq = token.indexOf('=');
    if (eq > 0 && token.slice(0, eq) === field) return token.slice(eq + 1);
  }
  return undefined;
}

/** True when the flow's actions output to a port (`output:N` anywhere in them). */
export function outputsToPort(flow: Pick<DumpedFlow, 'actionsText'>): boolean {
  return /(^|,)output:/.test(flow.actionsText);
}
