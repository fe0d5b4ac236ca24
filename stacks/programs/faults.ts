/**
 * The fault suite's program (test/faults/lab-faults.test.ts): the two-paths overlay with any
 * number of paths, all through ONE root (h1) and ONE relay (h2) to the leaves h3 and h4.
 *
 *        h1 (root, source src0 = port 2)
 *         |
 *        h2 (relay)
 *       /    \
 *     h3      h4        leaves -> receivers r1 (behind h3) and r2 (behind h4)
 *
 * Config `vpm:paths` (JSON): the UDP ports delivered to each leaf, default
 * {"h3":[5004],"h4":[5004]}. Path ids are `p<port>-<leaf>`, so a port that stays declared
 * keeps its resource while others are added and removed in the same `up`.
 *
 * h4's bridge depends on the other three: the first resources are created on h1..h3 before
 * anything touches h4 (the fault "SSH dropped in the middle of up" kills h4's sshd then).
 *
 *   npx tsc -p tsconfig.json
 *   npm run -s pulumi -- up --stack NAME --program dist/stacks/programs/faults.js
 */
import * as pulumi from '@pulumi/pulumi';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { FlowPath } from '../../providers/flow-path/resource';
import { PATCH_OFPORT, SOURCE_OFPORT, SOURCE_PORT_NAME } from '../../components/streaming-tree/ports';
import { labConnections } from '../lab-connections';

export const LEAF_RECEIVER: Readonly<Record<string, string>> = { h3: 'r1', h4: 'r2' };
export const greOfport = (peer: string): number => 100 + Number(peer.slice(1));
export const pathIdOf = (port: number, leaf: string): string => `p${port}-${leaf}`;

export default async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const { inventory, connection } = labConnections(config.get('inventory'));
  const declared = config.getObject<Record<string, number[]>>('paths') ?? { h3: [5004], h4: [5004] };
  const hv = (name: string) => {
    const h = inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new Error(`this program needs a lab with hypervisors h1..h4 (vpm lab up --hypervisors 4 --receivers 2); ${name} is missing`);
    return h;
  };
  const rcv = (name: string) => {
    const r = inventory.receivers.find((x) => x.name === name);
    if (!r) throw new Error(`this program needs receivers r1 and r2 (vpm lab up --hypervisors 4 --receivers 2); ${name} is missing`);
    return r;
  };

  const bridge = (name: string, dependsOn: pulumi.Resource[] = []) =>
    new OvsBridge(
      `br1-${name}`,
      {
        connection: connection(name),
        name: 'br1',
        patch: { overlayOfport: PATCH_OFPORT },
        ...(name === 'h1' ? { internalPorts: [{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }] } : {}),
      },
      { dependsOn },
    );
  const first = ['h1', 'h2', 'h3'].map((n) => bridge(hv(n).name));
  const bridges = new Map([...first.map((b, i): [string, OvsBridge] => [`h${i + 1}`, b]), ['h4', bridge(hv('h4').name, first)]]);

  const tunnels = [
    ['h1', 'h2'],
    ['h2', 'h3'],
    ['h2', 'h4'],
  ].map(([x, y]) => {
    const end = (a: string, b: string) => ({ connection: connection(a), bridge: bridges.get(a)!.name, remoteIp: hv(b).ip, portName: `gre-${b}`, ofport: greOfport(b) });
    return new GreTunnel(`gre-${x}-${y}`, { a: end(x, y), b: end(y, x) }, { dependsOn: [bridges.get(x)!, bridges.get(y)!] });
  });

  const paths: FlowPath[] = [];
  for (const [leafName, ports] of Object.entries(declared)) {
    const leaf = hv(leafName);
    const receiver = rcv(LEAF_RECEIVER[leafName] ?? 'r1');
    const chain = ['h1', 'h2', leafName];
    for (const port of ports) {
      const pathId = pathIdOf(port, leafName);
      paths.push(
        new FlowPath(
          `path-${pathId}`,
          {
            pathId,
            stream: { udpDst: port },
            hops: chain.map((node, i) => ({
              node,
              connection: connection(node),
              bridge: 'br1',
              inPort: i === 0 ? SOURCE_OFPORT : greOfport(chain[i - 1]),
              outPort: i === chain.length - 1 ? PATCH_OFPORT : greOfport(chain[i + 1]),
            })),
            egress: { receiverIp: receiver.ip, receiverMac: receiver.mac, srcMac: leaf.mac },
          },
          { dependsOn: [...bridges.values(), ...tunnels] },
        ),
      );
    }
  }

  return { paths: paths.map((p) => p.pathId) };
}
