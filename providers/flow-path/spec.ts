/**
 * A FlowPath's inputs as typed values, parsed once. The stored form (FlowPathInputs, in the
 * state) stays plain JSON, exactly as earlier versions wrote it, so their state reads and diffs
 * the same; the plan (segments.ts) starts from parsePath's result and never parses a port,
 * MAC or address again.
 */
import { parseIpv4, parseMac, parseOfPortNumber, parseUdpPort, type Ipv4, type Mac, type OfPortNumber, type UdpPort } from '../ovs/values';
import type { BackupHop, FlowPathInputs, Hop } from './types';

/** A hop with its ports and addresses parsed (the other fields as stored). */
export interface PathHop extends Hop {
  readonly inPort: OfPortNumber;
  readonly outPort: OfPortNumber;
  readonly vmPort?: OfPortNumber;
  readonly vmMac?: Mac;
  readonly vmIp?: Ipv4;
  readonly backup?: { outPort: OfPortNumber };
}

/** A hop of a route around a relay, its ports parsed. */
export interface PathBackupHop extends BackupHop {
  readonly inPort: OfPortNumber;
  readonly outPort?: OfPortNumber;
}

export interface PathSpec {
  readonly pathId: string;
  /** The path's cookie as stored ("0x" + hex; see common/owner.ts). */
  readonly cookie: string;
  readonly stream: { readonly udpDst: UdpPort; readonly srcIp?: Ipv4 };
  /** Root first, leaf last. */
  readonly hops: readonly PathHop[];
  readonly backupHops: readonly PathBackupHop[];
  readonly egress: { readonly receiverIp: Ipv4; readonly receiverMac: Mac; readonly srcMac: Mac };
}

/** The receiver MAC: given, or derived for multicast (RFC 1112) and broadcast receivers. */
export function receiverMacFor(ip: string, mac: string | undefined): string | undefined {
  if (mac) return mac.toLowerCase();
  const o = ip.split('.').map(Number);
  if (o[0] >= 224 && o[0] <= 239) {
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return `01:00:5e:${hex(o[1] & 0x7f)}:${hex(o[2])}:${hex(o[3])}`;
  }
  if (ip === '255.255.255.255' || o[3] === 255) return 'ff:ff:ff:ff:ff:ff';
  return undefined;
}

function parseHop(h: Hop, i: number): PathHop {
  const at = `hops[${i}]`;
  const { vmPort: _p, vmMac: _m, vmIp: _i, backup: _b, ...rest } = h;
  return {
    ...rest,
    inPort: parseOfPortNumber(h.inPort, `${at}.inPort`),
    outPort: parseOfPortNumber(h.outPort, `${at}.outPort`),
    ...(h.vmPort !== undefined ? { vmPort: parseOfPortNumber(h.vmPort, `${at}.vmPort`) } : {}),
    ...(h.vmMac !== undefined ? { vmMac: parseMac(h.vmMac, `${at}.vmMac`) } : {}),
    ...(h.vmIp !== undefined ? { vmIp: parseIpv4(h.vmIp, `${at}.vmIp`) } : {}),
    ...(h.backup !== undefined ? { backup: { ...h.backup, outPort: parseOfPortNumber(h.backup.outPort, `${at}.backup.outPort`) } } : {}),
  };
}

function parseBackupHop(b: BackupHop, j: number): PathBackupHop {
  const at = `backupHops[${j}]`;
  const { outPort: _o, ...rest } = b;
  return {
    ...rest,
    inPort: parseOfPortNumber(b.inPort, `${at}.inPort`),
    ...(b.outPort !== undefined ? { outPort: parseOfPortNumber(b.outPort, `${at}.outPort`) } : {}),
  };
}

/** The one parse of a path's stored inputs (throws the value's error, naming the field). */
export function parsePath(p: FlowPathInputs): PathSpec {
  return {
    pathId: p.pathId,
    cookie: p.cookie,
    stream: { udpDst: parseUdpPort(p.stream.udpDst, 'stream.udpDst'), ...(p.stream.srcIp ? { srcIp: parseIpv4(p.stream.srcIp, 'stream.srcIp') } : {}) },
    hops: p.hops.map(parseHop),
    backupHops: (p.backupHops ?? []).map(parseBackupHop),
    egress: {
      receiverIp: parseIpv4(p.egress.receiverIp, 'egress.receiverIp'),
      receiverMac: parseMac(p.egress.receiverMac, 'egress.receiverMac'),
      srcMac: parseMac(p.egress.srcMac, 'egress.srcMac'),
    },
  };
}
