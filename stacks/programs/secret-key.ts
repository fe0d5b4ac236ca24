/**
 * The bridge-tunnel program (br1 on h1 and h2, one GRE tunnel) with the lab's private key
 * passed INLINE as `connection.privateKey`, read from the key file as a plain string (not
 * wrapped in pulumi.secret by the program): the resources must keep it a secret on their own.
 * Used by test/faults/secrets.test.ts, which greps the state, the CLI output and the error
 * texts for the key material.
 *
 * Config (all optional, for the fault and hostile-input tests):
 *   vpm:bridgeName       the overlay bridge name (default br1); a hostile one must be refused by check
 *   vpm:wrongHostKeyFor  a hypervisor (e.g. h2) whose connection pins another host's key: must fail
 */
import * as fs from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import type { ConnectionSpec } from '../../providers/exec';
import { labConnections } from '../../lab/connections';

export default async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const { inventory, connection } = labConnections(config.get('inventory'));
  const [h1, h2] = inventory.hypervisors;
  if (!h2) throw new Error('this program needs a lab with at least 2 hypervisors');
  const privateKey = fs.readFileSync(inventory.privateKeyPath, 'utf8');
  const wrongFor = config.get('wrongHostKeyFor');
  const inline = (name: string): ConnectionSpec => {
    const { privateKeyPath: _path, ...rest } = connection(name);
    // A wrong pin: another hypervisor's (real, well-formed) host key.
    const hostKey = name === wrongFor ? inventory.hypervisors.find((h) => h.name !== name)!.hostKey : rest.hostKey;
    return { ...rest, hostKey, privateKey };
  };
  const bridgeName = config.get('bridgeName') ?? 'br1';
  const br = (h: typeof h1) => new OvsBridge(`br1-${h.name}`, { connection: inline(h.name), name: bridgeName, patch: { overlayOfport: 1 } });
  const b1 = br(h1);
  const b2 = br(h2);
  const tunnel = new GreTunnel(
    `gre-${h1.name}-${h2.name}`,
    {
      a: { connection: inline(h1.name), bridge: b1.name, remoteIp: h2.ip, portName: `gre-${h2.name}`, ofport: 10 + Number(h2.name.slice(1)) },
      b: { connection: inline(h2.name), bridge: b2.name, remoteIp: h1.ip, portName: `gre-${h1.name}`, ofport: 10 + Number(h1.name.slice(1)) },
    },
    { dependsOn: [b1, b2] },
  );
  return { bridges: [b1.bridgeUuid, b2.bridgeUuid], tunnelOfports: [tunnel.aOfport, tunnel.bOfport] };
}
