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
 * Config `vpm:keyedTunnels` (JSON, default []): extra tunnels with GRE key 7, e.g. ["h2-h4"]
 * (`gre-h2-h4-k7` beside the tree's gre-h2-h4: the same neighbour entries) or ["h1-h3"] (no tree
 * link: entries of their own); test/faults/neigh-faults.test.ts.
 *
 * h4's bridge depends on the other three: the first resources are created on h1..h3 before
 * anything touches h4 (the fault "SSH dropped in the middle of up" kills h4's sshd then).
 *
 *   npx tsc -p tsconfig.json
 *   npm run -s pulumi -- up --stack NAME --program dist/stacks/programs/faults.js
 */
import * as pulumi from '@pulumi/pulumi';
import type { FlowPath } from '../../providers/flow-path/resource';
import { starOverlay } from './star-overlay';

export { greOfport } from './star-overlay';
export const LEAF_RECEIVER: Readonly<Record<string, string>> = { h3: 'r1', h4: 'r2' };
export const pathIdOf = (port: number, leaf: string): string => `p${port}-${leaf}`;

export default async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const declared = config.getObject<Record<string, number[]>>('paths') ?? { h3: [5004], h4: [5004] };
  // h4's bridge waits for h1..h3's (see the header).
  const { path, keyedTunnel } = starOverlay((name, built) => (name === 'h4' ? [...built.values()] : []));
  for (const link of config.getObject<string[]>('keyedTunnels') ?? []) {
    const [x, y] = link.split('-');
    keyedTunnel(x, y, 7);
  }

  const paths: FlowPath[] = [];
  for (const [leafName, ports] of Object.entries(declared)) {
    for (const port of ports) {
      const pathId = pathIdOf(port, leafName);
      paths.push(path(`path-${pathId}`, pathId, ['h1', 'h2', leafName], LEAF_RECEIVER[leafName] ?? 'r1', port));
    }
  }
  return { paths: paths.map((p) => p.pathId) };
}
