/**
 * Ethernet frames as hex, for `ovs-ofctl packet-out` (which takes the packet as a hex string):
 * an ARP request and an IPv4/UDP datagram. Built from parsed values only (MACs, addresses,
 * ports), so nothing but hex digits ever reaches the command line.
 */
import { parseIpv4, parseMac, parseUdpPort } from './values';

const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

function macBytes(mac: string, property: string): number[] {
  return parseMac(mac, property).split(':').map((h) => Number.parseInt(h, 16));
}

function ipBytes(ip: string, property: string): number[] {
  return parseIpv4(ip, property).split('.').map(Number);
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const hex = (bytes: readonly number[]): string => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');

/** The Internet checksum (RFC 1071) of a header. */
export function ipChecksum(header: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i] << 8) + (header[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/**
 * "Who has `targetIp`? Tell `senderIp` (at `senderMac`)", broadcast. A Linux host that owns
 * targetIp also learns the sender's address from it, so its answer to a later datagram from
 * senderIp needs no ARP exchange of its own.
 */
export function arpRequestHex(o: { senderMac: string; senderIp: string; targetIp: string }): string {
  const sha = macBytes(o.senderMac, 'senderMac');
  return hex([
    ...macBytes(BROADCAST_MAC, 'dst'), ...sha, ...u16(0x0806),
    ...u16(1), ...u16(0x0800), 6, 4, ...u16(1), // Ethernet, IPv4, request
    ...sha, ...ipBytes(o.senderIp, 'senderIp'), 0, 0, 0, 0, 0, 0, ...ipBytes(o.targetIp, 'targetIp'),
  ]);
}

/** An IPv4/UDP datagram (TTL 64, DF, UDP checksum 0 = none, allowed over IPv4). */
export function udpPacketHex(o: {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array | string;
}): string {
  const payload = [...(typeof o.payload === 'string' ? Buffer.from(o.payload) : o.payload)];
  const udpLen = 8 + payload.length;
  const ip = [
    0x45, 0, ...u16(20 + udpLen), 0, 0, 0x40, 0, 64, 17, 0, 0,
    ...ipBytes(o.srcIp, 'srcIp'), ...ipBytes(o.dstIp, 'dstIp'),
  ];
  const sum = ipChecksum(ip);
  ip[10] = sum >> 8;
  ip[11] = sum & 0xff;
  const udp = [...u16(parseUdpPort(o.srcPort, 'srcPort')), ...u16(parseUdpPort(o.dstPort, 'dstPort')), ...u16(udpLen), 0, 0];
  return hex([...macBytes(o.dstMac, 'dstMac'), ...macBytes(o.srcMac, 'srcMac'), ...u16(0x0800), ...ip, ...udp, ...payload]);
}
