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
import { starOverlay } from './star-overlay';

export { greOfport } from './star-overlay';
export const STREAM_UDP_PORT = 5004;

export default async function program(): Promise<Record<string, unknown>> {
  const { tunnels, path: flowPath } = starOverlay();
  // Named by what is delivered to where (DESIGN.md, clone-path migration).
  const path = (chain: string[], receiver: string) => {
    const pathId = `${receiver}-${chain[chain.length - 1]}-${STREAM_UDP_PORT}`;
    return flowPath(`path-${pathId}`, pathId, chain, receiver, STREAM_UDP_PORT);
  };
  const p3 = path(['h1', 'h2', 'h3'], 'r1');
  const p4 = path(['h1', 'h2', 'h4'], 'r2');

  return {
    paths: [p3, p4].map((p) => ({ pathId: p.pathId, cookie: p.cookie, flows: p.flows })),
    tunnelOfports: tunnels.map((t) => [t.aOfport, t.bOfport]),
  };
}
