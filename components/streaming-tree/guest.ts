/**
 * The kernel command line StreamingTree gives each VM: the contract between the component and
 * the guest image it boots. A guest for StreamingTree reads these `vpm.*` keys at boot (the
 * lab's busybox guest does so in lab/guest/init; a user's own image must do the same):
 *   vpm.ip=A/P  vpm.gw=G  vpm.mtu=M     eth0's address, default route and MTU
 *   vpm.relay=L:IP:P                   relay UDP received on port L to IP:P (the relay VM)
 *   vpm.query=Q                        answer counter queries ("rx=N tx=N err=N bytes=N") on UDP Q;
 *                                      MigratedDomain's readiness probe sends there
 *   vpm.hb=S                           a "VPM-HB n up=... rx=..." console line every S seconds
 *   vpm.name=N                         the guest's host name
 * preceded by `console=ttyS0 quiet`. Every value is validated.
 */
import { ValidationError } from '../../providers/exec/errors';
import { checkInt, type Problem } from '../../providers/libvirt/domain';

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** What the guest reads from its kernel command line (see the header). */
export interface GuestCmdlineOptions {
  /** eth0 address with prefix, e.g. "10.99.0.2/24". */
  readonly ip?: string;
  readonly gw?: string;
  /** eth0 MTU; default 1450 (GRE adds 38 bytes and the userspace datapath does not fragment). */
  readonly mtu?: number;
  /** Run the relay: UDP received on listenPort is sent on to toIp:toPort. */
  readonly relay?: { readonly listenPort: number; readonly toIp: string; readonly toPort: number };
  /** The relay answers counter queries ("rx=N tx=N err=N bytes=N") on this UDP port. */
  readonly queryPort?: number;
  /** A "VPM-HB n up=... rx=..." line on the console every this many seconds. */
  readonly heartbeatSec?: number;
  readonly hostname?: string;
  /** Extra kernel parameters, each validated as one word. */
  readonly extra?: readonly string[];
}

/** The kernel command line: serial console, quiet, then the vpm.* keys. */
export function guestCmdline(o: GuestCmdlineOptions = {}): string {
  const p: Problem[] = [];
  const words = ['console=ttyS0', 'quiet'];
  const port = (prop: string, v: number) => checkInt(p, prop, v, 1, 65535);
  if (o.ip !== undefined) {
    const [addr, prefix, more] = o.ip.split('/');
    const n = Number(prefix);
    if (!addr || !IPV4_RE.test(addr) || more !== undefined || !/^\d{1,2}$/.test(prefix ?? '') || n > 32) {
      p.push({ property: 'ip', reason: `must be IPv4/prefix like 10.99.0.2/24, got ${JSON.stringify(o.ip)}` });
    }
    words.push(`vpm.ip=${o.ip}`);
  }
  if (o.gw !== undefined) {
    if (!IPV4_RE.test(o.gw)) p.push({ property: 'gw', reason: `must be an IPv4 address, got ${JSON.stringify(o.gw)}` });
    words.push(`vpm.gw=${o.gw}`);
  }
  if (o.mtu !== undefined) {
    checkInt(p, 'mtu', o.mtu, 576, 65535);
    words.push(`vpm.mtu=${o.mtu}`);
  }
  if (o.relay !== undefined) {
    port('relay.listenPort', o.relay.listenPort);
    port('relay.toPort', o.relay.toPort);
    if (!IPV4_RE.test(o.relay.toIp)) p.push({ property: 'relay.toIp', reason: 'must be an IPv4 address' });
    words.push(`vpm.relay=${o.relay.listenPort}:${o.relay.toIp}:${o.relay.toPort}`);
  }
  if (o.queryPort !== undefined) {
    port('queryPort', o.queryPort);
    words.push(`vpm.query=${o.queryPort}`);
  }
  if (o.heartbeatSec !== undefined) {
    checkInt(p, 'heartbeatSec', o.heartbeatSec, 1, 3600);
    words.push(`vpm.hb=${o.heartbeatSec}`);
  }
  if (o.hostname !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(o.hostname)) p.push({ property: 'hostname', reason: 'must be a host name' });
    words.push(`vpm.name=${o.hostname}`);
  }
  for (const [k, w] of (o.extra ?? []).entries()) {
    if (!/^[A-Za-z0-9_.,:=/+-]+$/.test(w)) p.push({ property: `extra[${k}]`, reason: `must be one plain word, got ${JSON.stringify(w)}` });
    words.push(w);
  }
  if (p.length) throw new ValidationError(p);
  return words.join(' ');
}
