/**
 * Jest setup (jest.config.js setupFiles), before any test module loads:
 * - the test suite's own Pulumi passphrase for the stacks it creates. The lab's default
 *   passphrase is only for the lab's own stacks (lab/setup/pulumi-env.js); tests that check the
 *   "no passphrase" error unset this in the child's environment.
 * - the test suite's own plain lab (issue #16): namespaces `vpmt<6 hex>-*` and state in
 *   `<tmp>/vpmt<6 hex>`, the hex from this checkout's path. So `npm test` never waits on,
 *   reuses or tears down the user's labs (`npm run lab` is stack `lab`'s lab `slab…-`; a plain
 *   `vpm lab up` is `vpmlab-`), and two checkouts' suites never meet. Labs of stacks
 *   (`LabSite.forStack`) that tests start are named after the tests' own stacks. A caller that
 *   chose a lab (either variable set) keeps it.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

process.env.PULUMI_CONFIG_PASSPHRASE ??= 'vpm-test-passphrase';

if (!process.env.VPM_LAB_NS_PREFIX && !process.env.VPM_LAB_DIR) {
  const checkout = createHash('sha256').update(path.resolve(__dirname, '..', '..')).digest('hex').slice(0, 6);
  process.env.VPM_LAB_NS_PREFIX = `vpmt${checkout}-`;
  process.env.VPM_LAB_DIR = path.join(os.tmpdir(), `vpmt${checkout}`);
}
