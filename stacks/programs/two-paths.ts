/**
 * Two streaming paths on the lab, sharing the root and a relay (used by the e2e test of
 * FlowPath, test/e2e/flow-path-pulumi.test.ts):
 *
 *        h1 (root, source src0 = port 2)
 *         |
 *        h2 (relay)
 *       /    \
 *     h3      h4        leaves; each exits through its patch port (1) to br0 and the LAN
 *     r1      r2        receivers on the lab LAN
 *
 * br1 + patch pair on every node (OvsBridge; the root's br1 also holds the source's internal
 * port), GRE tunnels h1-h2, h2-h3, h2-h4 (port to hK = 100 + K), and one FlowPath per
 * receiver for UDP port 5004. Every port number is fixed, so `preview` shows the exact flows.
 *
 *   npx tsc -p tsconfig.json
 *   npm run -s pulumi -- up --stack NAME --program dist/stacks/programs/two-paths.js
 */
import * as pulumi from '@pulumi/pulumi';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { FlowPath } from '../../providers/flow-path/resource';
import { PATCH_OFPORT, SOURCE_OFPORT, SOURCE_PORT_NAME } from '../../components/streaming-tree/ports';
import { labConnections } from '../lab-connections';

export const STREAM_UDP_PORT = 5004;
export const greOfport = (peer: string): number => 100 + Number(peer.slice(1));

export default async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const { inventory, connection } = labConnections(config.get('inventory'));
  const hv = (name: string) => {
    const h = inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new Error(`this program needs a lab with hypervisors h1..h4 (run \`vpm lab up --hypervisors 4 --receivers 2\`); ${name} is missing`);
    return h;
  };
  const rcv = (name: string) => {
    const r = inventory.receivers.find((x) => x.name === name);
    if (!r) throw new Error(`this program needs receivers r1 and r2 (run \`vpm lab up --hypervisors 4 --receivers 2\`); ${name} is missing`);
    return r;
  };
  const nodes = ['h1', 'h2', 'h3', 'h4'].map(hv);

  const bridges = new Map(
    nodes.map((h) => [
      h.name,
      new OvsBridge(`br1-${h.name}`, {
        connection: connection(h.name),
        name: 'br1',
        patch: { overlayOfport: PATCH_OFPORT },
        ...(h.name === 'h1' ? { internalPorts: [{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }] } : {}),
      }),
    ]),
  );

  const tunnels = [
    ['h1', 'h2'],
    ['h2', 'h3'],
    ['h2', 'h4'],
  ].map(([x, y]) => {
    const end = (a: string, b: string) => ({
      connection: connection(a),
      bridge: bridges.get(a)!.name,
      remoteIp: hv(b).ip,
      portName: `gre-${b}`,
      ofport: greOfport(b),
    });
    return new GreTunnel(`gre-${x}-${y}`, { a: end(x, y), b: end(y, x) }, { dependsOn: [bridges.get(x)!, bridges.get(y)!] });
  });

  const path = (chain: string[], receiver: string) => {
    const r = rcv(receiver);
    const leaf = hv(chain[chain.length - 1]);
    // Named by what is delivered to where (DESIGN.md, clone-path migration).
    const pathId = `${receiver}-${leaf.name}-${STREAM_UDP_PORT}`;
    return new FlowPath(
      `path-${pathId}`,
      {
        pathId,
        stream: { udpDst: STREAM_UDP_PORT },
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
  const p3 = path(['h1', 'h2', 'h3'], 'r1');
  const p4 = path(['h1', 'h2', 'h4'], 'r2');

  return {
    paths: [p3, p4].map((p) => ({ pathId: p.pathId, cookie: p.cookie, flows: p.flows })),
    tunnelOfports: tunnels.map((t) => [t.aOfport, t.bOfport]),
  };
}
