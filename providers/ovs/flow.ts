/**
 * OpenFlow flows as data, and the ONE serializer that turns them into `ovs-ofctl` text.
 *
 * The text is chosen to be exactly what OVS 3.1 `ovs-ofctl -O OpenFlow15 dump-flows` prints
 * back (checked against a live ovs-vswitchd, see test/integration/real-ovs.test.ts), so a dumped
 * flow can be compared with a desired one as strings:
 *
 *   match:   [proto],in_port=N,dl_src=M,dl_dst=M,[dl_type=0xNNNN],nw_src=A,nw_dst=A,[nw_proto=N],tp_src=P,tp_dst=P
 *            proto is the shorthand OVS prints: ip, udp (ip+nw_proto 17), tcp (6), icmp (1),
 *            sctp (132), arp, rarp, ipv6, mpls; any other dl_type is printed as dl_type=0x%04x,
 *            any other IPv4 protocol as ip,...,nw_proto=N. UDP ports are written tp_src/tp_dst
 *            (OVS accepts udp_dst but prints tp_dst).
 *   actions: output:N, LOCAL, IN_PORT (also for the inPort action; OVS prints `in_port` as
 *            IN_PORT), group:N, set_field:V->eth_dst|eth_src|ip_dst|ip_src (OVS prints
 *            mod_dl_dst/mod_nw_dst as set_field with OpenFlow 1.5), drop.
 *
 * Modes of `flowToOfctl`:
 *   'add'           table=T,priority=P,cookie=0xC[,match],actions=A     (add-flow / "add" line)
 *   'strict-del'    table=T,priority=P,cookie=0xC/-1[,match]            ("delete_strict" line)
 *   'strict-modify' table=T,priority=P,cookie=0xC/-1[,match],actions=A  ("modify_strict" line)
 *   'match-only'    table=T,cookie=0xC/-1[,match]                       (del-flows / dump-flows filter)
 * Deletes and modifies carry the cookie with a full mask, so they only ever touch flows that
 * carry the owner's cookie. `priority` is absent from 'match-only' because non-strict
 * del-flows/dump-flows reject it ("unknown keyword priority").
 *
 * Invariants (checked on every call, also for values that bypassed the parse functions, e.g.
 * flows read back from state): table 0..253 (OVS refuses 254 with EPERM and reads 255 as "all
 * tables", adding to table 0); priority 0..65535; a cookie that is neither 0 (unowned) nor
 * all-ones (OpenFlow-reserved: OVS answers OK and installs nothing); nw_* fields need dl_type
 * ip; UDP ports need ip + nw_proto 17 (OVS would silently DROP tp_dst from a match without
 * them and match every port); set_field ip_* needs dl_type ip; at least one action, and drop
 * only alone; no unknown match keys or action types.
 */
import { ValidationError } from '../exec';
import {
  Cookie,
  GroupId,
  Ipv4,
  Mac,
  OfPort,
  UdpPort,
  collect,
  formatCookie,
  isReservedCookie,
  parseCookie,
  parseGroupId,
  parseIpv4,
  parseMac,
  parseOfPort,
  parseUdpPort,
  show,
} from './values';

export type Problem = { property: string; reason: string };

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const IP_PROTO_UDP = 17;
export const MAX_TABLE = 253;

/** 'ip' (0x0800), 'arp' (0x0806) or any Ethernet type 0..0xffff. */
export type DlType = 'ip' | 'arp' | number;

export interface Match {
  readonly inPort?: OfPort;
  readonly dlType?: DlType;
  /** IPv4 protocol 0..255; needs dlType ip. 17 = UDP. */
  readonly nwProto?: number;
  readonly nwSrc?: Ipv4;
  readonly nwDst?: Ipv4;
  /** Need dlType ip and nwProto 17. */
  readonly udpSrc?: UdpPort;
  readonly udpDst?: UdpPort;
  readonly dlSrc?: Mac;
  readonly dlDst?: Mac;
  /** OpenFlow metadata, 64 bits as "0x" + up to 16 hex digits (VPM's ownership markers). */
  readonly metadata?: string;
  /** Nicira registers 0 and 1, 32 bits each (VPM's ownership markers). */
  readonly reg0?: number;
  readonly reg1?: number;
}

export type SetFieldAction =
  | { readonly type: 'setField'; readonly field: 'eth_dst' | 'eth_src'; readonly value: Mac }
  | { readonly type: 'setField'; readonly field: 'ip_dst' | 'ip_src'; readonly value: Ipv4 };

export type Action =
  | { readonly type: 'output'; readonly port: OfPort }
  | { readonly type: 'group'; readonly id: GroupId }
  | SetFieldAction
  /** Send the packet back out of the port it came in on (OpenFlow IN_PORT). */
  | { readonly type: 'inPort' }
  /** No action: the packet stops here. Must be the only action. */
  | { readonly type: 'drop' };

export interface Flow {
  /** 0..253, default 0. */
  readonly table?: number;
  /** 0..65535. */
  readonly priority: number;
  /** The owner's cookie; every VPM flow has one (not 0, not all-ones). */
  readonly cookie: Cookie;
  readonly match: Match;
  readonly actions: readonly Action[];
}

export type FlowTextMode = 'add' | 'match-only' | 'strict-del' | 'strict-modify';

/** Small typed constructors (Faucet's valve_of style); they parse their arguments. */
export const act = {
  output: (port: unknown): Action => ({ type: 'output', port: parseOfPort(port, 'output.port') }),
  group: (id: unknown): Action => ({ type: 'group', id: parseGroupId(id, 'group.id') }),
  setEthDst: (mac: unknown): Action => ({ type: 'setField', field: 'eth_dst', value: parseMac(mac, 'setField.value') }),
  setEthSrc: (mac: unknown): Action => ({ type: 'setField', field: 'eth_src', value: parseMac(mac, 'setField.value') }),
  setIpDst: (ip: unknown): Action => ({ type: 'setField', field: 'ip_dst', value: parseIpv4(ip, 'setField.value') }),
  setIpSrc: (ip: unknown): Action => ({ type: 'setField', field: 'ip_src', value: parseIpv4(ip, 'setField.value') }),
  inPort: (): Action => ({ type: 'inPort' }),
  drop: (): Action => ({ type: 'drop' }),
} as const;

const MATCH_KEYS: ReadonlySet<string> = new Set([
  'inPort', 'dlType', 'nwProto', 'nwSrc', 'nwDst', 'udpSrc', 'udpDst', 'dlSrc', 'dlDst', 'metadata', 'reg0', 'reg1',
]);
const FLOW_KEYS: ReadonlySet<string> = new Set(['table', 'priority', 'cookie', 'match', 'actions']);

const DL_TYPE_SHORTHAND: ReadonlyMap<number, string> = new Map([
  [0x0800, 'ip'],
  [0x0806, 'arp'],
  [0x8035, 'rarp'],
  [0x86dd, 'ipv6'],
  [0x8847, 'mpls'],
  [0x8848, 'mplsm'],
]);
const IP_PROTO_SHORTHAND: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [6, 'tcp'],
  [17, 'udp'],
  [132, 'sctp'],
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>, property: string): Problem[] {
  return Object.keys(obj)
    .filter((k) => !allowed.has(k))
    .map((k) => ({
      property: `${property}.${k}`,
      reason: `unknown field ${show(k)}: allowed are ${[...allowed].join(', ')}`,
    }));
}

/** The numeric Ethernet type of a dlType, or undefined when it is invalid. */
function dlTypeNumber(dlType: unknown): number | undefined {
  if (dlType === 'ip') return ETH_TYPE_IP;
  if (dlType === 'arp') return ETH_TYPE_ARP;
  if (typeof dlType === 'number' && Number.isInteger(dlType) && dlType >= 0 && dlType <= 0xffff) return dlType;
  return undefined;
}

interface CheckedMatch {
  readonly text: string;
  readonly isIp: boolean;
}

function checkMatch(match: unknown, property: string, problems: Problem[]): CheckedMatch {
  if (!isPlainObject(match)) {
    problems.push({ property, reason: `match must be an object, got ${show(match)}` });
    return { text: '', isIp: false };
  }
  problems.push(...unknownKeys(match, MATCH_KEYS, property));
  const m = match as Record<string, unknown>;
  const at = (k: string) => `${property}.${k}`;

  let ethType: number | undefined;
  if (m.dlType !== undefined) {
    ethType = dlTypeNumber(m.dlType);
    if (ethType === undefined) {
      problems.push({
        property: at('dlType'),
        reason: `Ethernet type ${show(m.dlType)} is invalid: use 'ip', 'arp' or an integer 0..0xffff`,
      });
    }
  }
  const isIp = ethType === ETH_TYPE_IP;

  let nwProto: number | undefined;
  if (m.nwProto !== undefined) {
    if (typeof m.nwProto !== 'number' || !Number.isInteger(m.nwProto) || m.nwProto < 0 || m.nwProto > 255) {
      problems.push({ property: at('nwProto'), reason: `IP protocol ${show(m.nwProto)} is invalid: use an integer 0..255` });
    } else if (!isIp) {
      problems.push({ property: at('nwProto'), reason: `matching nwProto ${m.nwProto} requires dlType 'ip'` });
    } else {
      nwProto = m.nwProto;
    }
  }

  const tokens: string[] = [];
  let dlTypeToken: string | undefined;
  let nwProtoToken: string | undefined;
  if (ethType !== undefined) {
    const protoShort = isIp && nwProto !== undefined ? IP_PROTO_SHORTHAND.get(nwProto) : undefined;
    if (protoShort) tokens.push(protoShort);
    else if (DL_TYPE_SHORTHAND.has(ethType)) {
      tokens.push(DL_TYPE_SHORTHAND.get(ethType)!);
      if (isIp && nwProto !== undefined) nwProtoToken = `nw_proto=${nwProto}`;
    } else dlTypeToken = `dl_type=0x${ethType.toString(16).padStart(4, '0')}`;
  }

  // Registers and metadata come first, as OVS prints them.
  for (const key of ['reg0', 'reg1'] as const) {
    if (m[key] === undefined) continue;
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      problems.push({ property: at(key), reason: `${key} ${show(v)} is invalid: use an integer 0..0xffffffff` });
    } else tokens.push(`${key}=0x${v.toString(16)}`);
  }
  if (m.metadata !== undefined) {
    const v = m.metadata;
    if (typeof v !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(v)) {
      problems.push({ property: at('metadata'), reason: `metadata ${show(v)} is invalid: use "0x" and 1..16 lower-case hex digits` });
    } else tokens.push(`metadata=0x${BigInt(v).toString(16)}`);
  }
  if (m.inPort !== undefined) {
    const port = collect(problems, () => parseOfPort(m.inPort, at('inPort')));
    if (port === 'IN_PORT') {
      problems.push({ property: at('inPort'), reason: 'IN_PORT cannot be matched: use a port number or LOCAL' });
    } else if (port !== undefined) tokens.push(`in_port=${port}`);
  }
  for (const [key, field] of [['dlSrc', 'dl_src'], ['dlDst', 'dl_dst']] as const) {
    if (m[key] === undefined) continue;
    const mac = collect(problems, () => parseMac(m[key], at(key)));
    if (mac !== undefined) tokens.push(`${field}=${mac}`);
  }
  if (dlTypeToken) tokens.push(dlTypeToken);
  for (const [key, field] of [['nwSrc', 'nw_src'], ['nwDst', 'nw_dst']] as const) {
    if (m[key] === undefined) continue;
    const ip = collect(problems, () => parseIpv4(m[key], at(key)));
    if (ip === undefined) continue;
    if (!isIp) problems.push({ property: at(key), reason: `matching ${key} ${ip} requires dlType 'ip'` });
    else tokens.push(`${field}=${ip}`);
  }
  if (nwProtoToken) tokens.push(nwProtoToken);
  for (const [key, field] of [['udpSrc', 'tp_src'], ['udpDst', 'tp_dst']] as const) {
    if (m[key] === undefined) continue;
    const port = collect(problems, () => parseUdpPort(m[key], at(key)));
    if (port === undefined) continue;
    if (!isIp || nwProto !== IP_PROTO_UDP) {
      problems.push({
        property: at(key),
        reason: `matching ${key} ${port} requires dlType 'ip' and nwProto 17 (UDP); without them OVS drops the port from the match`,
      });
    } else tokens.push(`${field}=${port}`);
  }
  return { text: tokens.join(','), isIp };
}

/**
 * Checks actions and returns their text. `matchIsIp` is undefined for group buckets (no match
 * to check set_field prerequisites against).
 */
export function checkActions(actions: unknown, property: string, problems: Problem[], matchIsIp?: boolean): string {
  if (!Array.isArray(actions) || actions.length === 0) {
    problems.push({
      property,
      reason: `actions must be a non-empty list, got ${show(actions)}: to stop packets say [{ type: 'drop' }]`,
    });
    return '';
  }
  const parts: string[] = [];
  actions.forEach((a: unknown, i: number) => {
    const at = `${property}[${i}]`;
    if (!isPlainObject(a)) {
      problems.push({ property: at, reason: `action must be an object, got ${show(a)}` });
      return;
    }
    const allowedKeys = (keys: string[]) => problems.push(...unknownKeys(a, new Set(['type', ...keys]), at));
    switch (a.type) {
      case 'output': {
        allowedKeys(['port']);
        const port = collect(problems, () => parseOfPort(a.port, `${at}.port`));
        if (port === 'LOCAL' || port === 'IN_PORT') parts.push(port);
        else if (port !== undefined) parts.push(`output:${port}`);
        return;
      }
      case 'group': {
        allowedKeys(['id']);
        const id = collect(problems, () => parseGroupId(a.id, `${at}.id`));
        if (id !== undefined) parts.push(`group:${id}`);
        return;
      }
      case 'setField': {
        allowedKeys(['field', 'value']);
        if (a.field === 'eth_dst' || a.field === 'eth_src') {
          const mac = collect(problems, () => parseMac(a.value, `${at}.value`));
          if (mac !== undefined) parts.push(`set_field:${mac}->${a.field}`);
        } else if (a.field === 'ip_dst' || a.field === 'ip_src') {
          const ip = collect(problems, () => parseIpv4(a.value, `${at}.value`));
          if (matchIsIp === false) {
            problems.push({ property: `${at}.field`, reason: `set_field ${a.field} requires the match to have dlType 'ip'` });
          } else if (ip !== undefined) parts.push(`set_field:${ip}->${a.field}`);
        } else {
          problems.push({
            property: `${at}.field`,
            reason: `set_field field ${show(a.field)} is not supported: use eth_dst, eth_src, ip_dst or ip_src`,
          });
        }
        return;
      }
      case 'inPort':
        allowedKeys([]);
        parts.push('IN_PORT');
        return;
      case 'drop':
        allowedKeys([]);
        if (actions.length !== 1) {
          problems.push({ property: at, reason: 'drop must be the only action (an action list with outputs does not drop)' });
        } else parts.push('drop');
        return;
      default:
        problems.push({
          property: `${at}.type`,
          reason: `unknown action type ${show(a.type)}: use output, group, setField, inPort or drop`,
        });
    }
  });
  return parts.join(',');
}

interface CheckedFlow {
  readonly table: number;
  readonly priority: number;
  readonly cookie: string;
  readonly match: string;
  readonly actions: string;
}

function checkFlow(flow: unknown, property: string, needActions: boolean): CheckedFlow {
  const problems: Problem[] = [];
  if (!isPlainObject(flow)) throw new ValidationError([{ property, reason: `flow must be an object, got ${show(flow)}` }]);
  problems.push(...unknownKeys(flow, FLOW_KEYS, property));
  const table = flow.table ?? 0;
  if (typeof table !== 'number' || !Number.isInteger(table) || table < 0 || table > MAX_TABLE) {
    problems.push({
      property: `${property}.table`,
      reason: `table ${show(flow.table)} is invalid: use an integer 0..${MAX_TABLE} (OVS reserves 254, 255 means all tables)`,
    });
  }
  const priority = flow.priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 65535) {
    problems.push({ property: `${property}.priority`, reason: `priority ${show(priority)} is invalid: use an integer 0..65535` });
  }
  let cookie: string | undefined;
  if (flow.cookie === undefined) {
    problems.push({ property: `${property}.cookie`, reason: "cookie is required: every VPM flow carries its owner's cookie" });
  } else {
    const c = collect(problems, () => parseCookie(flow.cookie, `${property}.cookie`));
    if (c !== undefined && isReservedCookie(c)) {
      problems.push({
        property: `${property}.cookie`,
        reason: `cookie ${c} is reserved: 0 marks unowned flows and 0xffffffffffffffff is reserved by OpenFlow; use an owner cookie`,
      });
    } else if (c !== undefined) cookie = formatCookie(c);
  }
  const match = checkMatch(flow.match, `${property}.match`, problems);
  const actions = needActions ? checkActions(flow.actions, `${property}.actions`, problems, match.isIp) : '';
  if (problems.length > 0) throw new ValidationError(problems);
  return { table: table as number, priority: priority as number, cookie: cookie!, match: match.text, actions };
}

/** The problems of a flow (empty when it serializes), for providers' `check`. */
export function validateFlow(flow: unknown, property = 'flow'): Problem[] {
  try {
    checkFlow(flow, property, true);
    return [];
  } catch (e) {
    if (e instanceof ValidationError) return [...e.problems];
    throw e;
  }
}

/** The match part as OVS prints it (may be empty). Throws ValidationError. */
export function matchToOfctl(match: Match, property = 'match'): string {
  const problems: Problem[] = [];
  const m = checkMatch(match, property, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  return m.text;
}

/** The actions part as OVS prints it. Set_field prerequisites are not checked here (no match). */
export function actionsToOfctl(actions: readonly Action[], property = 'actions'): string {
  const problems: Problem[] = [];
  const text = checkActions(actions, property, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  return text;
}

/** THE serializer; see the module header for the modes and invariants. Throws ValidationError. */
export function flowToOfctl(flow: Flow, mode: FlowTextMode, property = 'flow'): string {
  const needActions = mode === 'add' || mode === 'strict-modify';
  const f = checkFlow(flow, property, needActions);
  const match = f.match ? `,${f.match}` : '';
  switch (mode) {
    case 'add':
      return `table=${f.table},priority=${f.priority},cookie=${f.cookie}${match},actions=${f.actions}`;
    case 'strict-del':
      return `table=${f.table},priority=${f.priority},cookie=${f.cookie}/-1${match}`;
    case 'strict-modify':
      return `table=${f.table},priority=${f.priority},cookie=${f.cookie}/-1${match},actions=${f.actions}`;
    case 'match-only':
      return `table=${f.table},cookie=${f.cookie}/-1${match}`;
    default:
      throw new ValidationError([{ property: 'mode', reason: `unknown mode ${show(mode)}: use add, match-only, strict-del or strict-modify` }]);
  }
}

/** What identifies a flow in a switch (OpenFlow strict identity): table, priority, match. */
export function flowIdentity(flow: Flow): string {
  const f = checkFlow(flow, 'flow', false);
  return `table=${f.table},priority=${f.priority},${f.match}`;
}
