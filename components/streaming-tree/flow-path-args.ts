/**
 * The one mapping from a planned path (plan.ts) to the FlowPath resource's arguments. Pure: the
 * component uses it, and so do tests that install a path the way the component would
 * (status judged against the plan, failover on the lab), so none keeps a copy of it.
 */
import type { PlannedPath } from './plan';

/**
 * @param connectionOf how to reach a hypervisor (by its hosts-file name)
 * @param bridge the overlay bridge on every node (br1)
 * @param down nodes the topology marks failed: an update does not try to clean them
 */
export function flowPathArgs<C>(p: PlannedPath, connectionOf: (host: string) => C, bridge: string, down: readonly string[] = []) {
  return {
    pathId: p.name,
    stream: { udpDst: p.udpDst, ...(p.srcIp ? { srcIp: p.srcIp } : {}) },
    hops: p.hops.map((h) => ({
      node: h.node,
      connection: connectionOf(h.host),
      bridge,
      inPort: h.inPort,
      outPort: h.outPort,
      ...(h.vmPort !== undefined ? { vmPort: h.vmPort, vmMac: h.vmMac, vmIp: h.vmIp } : {}),
      neighbours: h.neighbours,
      ...(h.backup ? { backup: h.backup } : {}),
    })),
    ...(p.backupHops.length
      ? {
          backupHops: p.backupHops.map((b) => ({
            from: b.from,
            node: b.node,
            connection: connectionOf(b.host),
            bridge,
            inPort: b.inPort,
            ...(b.outPort !== undefined ? { outPort: b.outPort } : {}),
            neighbours: b.neighbours,
          })),
        }
      : {}),
    egress: { receiverIp: p.receiver.ip, ...(p.receiver.mac ? { receiverMac: p.receiver.mac } : {}), srcMac: p.srcMac },
    ...(down.length ? { down: [...down] } : {}),
  };
}

