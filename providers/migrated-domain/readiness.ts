/**
 * "The VM is ready" means its guest answers on the network, not that libvirt says "running"
 * (a guest kernel boots for seconds after that; a stream sent meanwhile is lost). The probe
 * needs nothing inside the guest but a UDP service that answers any datagram (the lab guest's
 * relay answers its counters on its query port) and nothing on the host but the overlay
 * bridge the VM's port is on:
 *   1. a reply-catching flow: from the VM's port, UDP from the probed port to the probe's
 *      address -> drop, counted (cookie derived from the domain's owner, top priority);
 *   2. out of the VM's port (packet-out): an ARP request from the probe's address (the guest
 *      learns where the probe is, so it can answer without an ARP exchange the secure-mode
 *      bridge would drop), then the query datagram;
 *   3. the flow's packet counter > 0: the guest answered. Repeated until the timeout.
 * The flow is removed afterwards in every case. The probe's address must be on the guest's
 * subnet and unused (the component picks one); the port, addresses and timeout are inputs.
 */
import type { CommandRunner } from '../exec';
import { fnv1a32 } from '../common/hash';
import {
  act,
  type Flow,
  addFlowsBundle,
  delFlowsByCookie,
  dumpFlowStats,
  packetOut,
  arpRequestHex,
  udpPacketHex,
  parseBridgeName,
  parseCookie,
  parseIpv4,
  parseOfPortNumber,
  parseUdpPort,
  type Cookie,
} from '../ovs';
import type { DomainNetwork } from './types';

export interface ReadinessProbe {
  /** The guest's UDP port that answers any datagram (lab guest: the relay's query port). */
  port: number;
  /** The guest's address on the overlay. */
  ip: string;
  /** An unused address on the guest's subnet and a MAC that the probe speaks from. */
  probeIp: string;
  probeMac: string;
  /** How long the guest may take to answer (boot, or resume after a migration). */
  timeoutMs: number;
}

/** Above every path flow (PATH_PRIORITY 1000 / BACKUP_PRIORITY 1001). */
export const PROBE_PRIORITY = 60000;
/** The probe's UDP source port. */
export const PROBE_SRC_PORT = 47_999;
const ROUND_MS = 250;

/** The probe flow's cookie: "VPRB" + a hash of the owner (distinct from FlowPath's cookies). */
export function probeCookie(owner: string): Cookie {
  return parseCookie(`0x56505242${fnv1a32(`probe:${owner}`).toString(16).padStart(8, '0')}`, 'probe cookie');
}

export function replyFlow(net: DomainNetwork, probe: ReadinessProbe, owner: string): Flow {
  return {
    priority: PROBE_PRIORITY,
    cookie: probeCookie(owner),
    match: {
      inPort: parseOfPortNumber(net.ofport, 'network.ofport'),
      dlType: 'ip',
      nwProto: 17,
      nwSrc: parseIpv4(probe.ip, 'readiness.ip'),
      nwDst: parseIpv4(probe.probeIp, 'readiness.probeIp'),
      udpSrc: parseUdpPort(probe.port, 'readiness.port'),
      udpDst: parseUdpPort(PROBE_SRC_PORT, 'probe source port'),
    },
    actions: [act.drop()],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the milliseconds until the guest first answered; throws (naming the domain,
 * host, address and port, and what to check) when it did not within `probe.timeoutMs`.
 */
export async function waitUntilGuestAnswers(runner: CommandRunner, domain: string, net: DomainNetwork, probe: ReadinessProbe, owner: string): Promise<number> {
  const bridge = parseBridgeName(net.bridge, 'network.bridge');
  const ofport = parseOfPortNumber(net.ofport, 'network.ofport');
  const flow = replyFlow(net, probe, owner);
  const arp = arpRequestHex({ senderMac: probe.probeMac, senderIp: probe.probeIp, targetIp: probe.ip });
  const query = udpPacketHex({ srcMac: probe.probeMac, dstMac: net.mac, srcIp: probe.probeIp, dstIp: probe.ip, srcPort: PROBE_SRC_PORT, dstPort: probe.port, payload: 'q\n' });
  const t0 = Date.now();
  await addFlowsBundle(runner, bridge, [flow]);
  try {
    for (let round = 0; ; round++) {
      await packetOut(runner, bridge, arp, ofport);
      await packetOut(runner, bridge, query, ofport);
      await sleep(ROUND_MS);
      const answered = (await dumpFlowStats(runner, bridge, flow.cookie)).some((f) => f.nPackets > 0);
      if (answered) return Date.now() - t0;
      if (Date.now() - t0 > probe.timeoutMs) {
        throw new Error(
          `${domain} on ${runner.host} is running but its guest did not answer on UDP ${probe.ip}:${probe.port} within ${probe.timeoutMs} ms ` +
            `(${round + 1} probes out of port ${ofport} of ${bridge}). Check the guest's console log (did it boot? does its service listen on ` +
            `that port?), or give it longer with readiness.timeoutMs; run up again once it answers.`,
        );
      }
    }
  } finally {
    await delFlowsByCookie(runner, bridge, flow.cookie).catch(() => undefined);
  }
}
