/**
 * A tiny program on the lab: br1 + patch pair on h1 and h2, one GRE tunnel between them.
 * Used by the e2e test of OvsBridge/GreTunnel (`npm run pulumi -- up --program
 * dist/stacks/programs/bridge-tunnel.js --stack NAME`).
 */
import * as pulumi from '@pulumi/pulumi';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { labConnections } from '../../lab/connections';

export default async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const { inventory, connection } = labConnections(config.get('inventory'));
  const [h1, h2] = inventory.hypervisors;
  if (!h2) throw new Error('this program needs a lab with at least 2 hypervisors');
  const br = (h: typeof h1) => new OvsBridge(`br1-${h.name}`, { connection: connection(h.name), name: 'br1', patch: { overlayOfport: 1 } });
  const b1 = br(h1);
  const b2 = br(h2);
  const tunnel = new GreTunnel(
    `gre-${h1.name}-${h2.name}`,
    {
      a: { connection: connection(h1.name), bridge: b1.name, remoteIp: h2.ip, portName: `gre-${h2.name}`, ofport: 10 + Number(h2.name.slice(1)) },
      b: { connection: connection(h2.name), bridge: b2.name, remoteIp: h1.ip, portName: `gre-${h1.name}`, ofport: 10 + Number(h1.name.slice(1)) },
    },
    { dependsOn: [b1, b2] },
  );
  return { bridges: [b1.bridgeUuid, b2.bridgeUuid], tunnelOfports: [tunnel.aOfport, tunnel.bOfport] };
}
