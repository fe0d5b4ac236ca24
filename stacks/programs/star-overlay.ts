/**
 * The overlay two example programs share (two-paths.ts, faults.ts): h1 root with the source
 * port src0, h2 relay, leaves h3 and h4, receivers r1/r2 on the lab LAN.
 *
 *        h1 (root, source src0 = port 2)
 *         |
 *        h2 (relay)
 *       /    \
 *     h3      h4        leaves; each exits through its patch port (1) to br0 and the LAN
 *
 * Resource names (part of the tests' contract): br1-<hK>, gre-<a>-<b>; GRE port toward hK is
 * "gre-hK" with number 100 + K. FlowPath hops along a chain use these fixed numbers, so
 * `preview` shows the exact flows.
 */
import * as pulumi from '@pulumi/pulumi';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { FlowPath } from '../../providers/flow-path/resource';
import { PATCH_OFPORT, SOURCE_OFPORT, SOURCE_PORT_NAME } from '../../components/streaming-tree/ports';
import { labConnections } from '../../lab/connections';

export const greOfport = (peer: string): number => 100 + Number(peer.slice(1));
const TREE_LINKS = [
  ['h1', 'h2'],
  ['h2', 'h3'],
  ['h2', 'h4'],
];
const NEEDS = 'a lab with hypervisors h1..h4 and receivers r1, r2 (run `vpm lab up --hypervisors 4 --receivers 2`)';

export interface StarOverlay {
  readonly bridges: Map<string, OvsBridge>;
  readonly tunnels: GreTunnel[];
  /**
   * A second tunnel x-y beside the tree's, told apart by its GRE `key`: GreTunnel `gre-x-y-k<key>`,
   * ports "gre-<peer>-k<key>" numbered 200 + K. It shares the tree tunnel's neighbour entries.
   */
  keyedTunnel(x: string, y: string, key: number): GreTunnel;
  /** One FlowPath along `chain` (root first) to `receiver`, for UDP `udpPort`. */
  path(name: string, pathId: string, chain: string[], receiver: string, udpPort: number): FlowPath;
}

/**
 * Builds bridges and tunnels. `bridgeDependsOn(name, built)` lets a program order bridge
 * creation (the fault suite creates h4's bridge last).
 */
export function starOverlay(bridgeDependsOn: (name: string, built: Map<string, OvsBridge>) => pulumi.Resource[] = () => []): StarOverlay {
  const config = new pulumi.Config('vpm');
  const { inventory, connection } = labConnections(config.get('inventory'));
  const hv = (name: string) => {
    const h = inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new Error(`this program needs ${NEEDS}; ${name} is missing`);
    return h;
  };
  const rcv = (name: string) => {
    const r = inventory.receivers.find((x) => x.name === name);
    if (!r) throw new Error(`this program needs ${NEEDS}; ${name} is missing`);
    return r;
  };

  const bridges = new Map<string, OvsBridge>();
  for (const name of ['h1', 'h2', 'h3', 'h4'].map((n) => hv(n).name)) {
    bridges.set(
      name,
      new OvsBridge(
        `br1-${name}`,
        {
          connection: connection(name),
          name: 'br1',
          patch: { overlayOfport: PATCH_OFPORT },
          ...(name === 'h1' ? { internalPorts: [{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }] } : {}),
        },
        { dependsOn: bridgeDependsOn(name, bridges) },
      ),
    );
  }

  const tunnels = TREE_LINKS.map(([x, y]) => {
    const end = (a: string, b: string) => ({ connection: connection(a), bridge: bridges.get(a)!.name, remoteIp: hv(b).ip, portName: `gre-${b}`, ofport: greOfport(b) });
    return new GreTunnel(`gre-${x}-${y}`, { a: end(x, y), b: end(y, x) }, { dependsOn: [bridges.get(x)!, bridges.get(y)!] });
  });

  const keyedTunnel = (x: string, y: string, key: number) => {
    const end = (a: string, b: string) => ({ connection: connection(a), bridge: bridges.get(a)!.name, remoteIp: hv(b).ip, portName: `gre-${b}-k${key}`, ofport: 200 + Number(b.slice(1)) });
    return new GreTunnel(`gre-${x}-${y}-k${key}`, { a: end(x, y), b: end(y, x), key }, { dependsOn: [bridges.get(x)!, bridges.get(y)!] });
  };

  const path = (name: string, pathId: string, chain: string[], receiver: string, udpPort: number) => {
    const r = rcv(receiver);
    const leaf = hv(chain[chain.length - 1]);
    return new FlowPath(
      name,
      {
        pathId,
        stream: { udpDst: udpPort },
        hops: chain.map((node, i) => ({
          node,
          connection: connection(node),
          bridge: 'br1',
          inPort: i === 0 ? SOURCE_OFPORT : greOfport(chain[i - 1]),
          outPort: i === chain.length - 1 ? PATCH_OFPORT : greOfport(chain[i + 1]),
        })),
        egress: { receiverIp: r.ip, receiverMac: r.mac, srcMac: leaf.mac },
      },
      { dependsOn: [...bridges.values(), ...tunnels] },
    );
  };
  return { bridges, tunnels, keyedTunnel, path };
}
