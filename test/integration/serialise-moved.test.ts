/**
 * A serialised provider (what the engine stores in the state) whose captured path is gone (the
 * checkout moved) finds its implementation by package name. It loads the compiled provider from
 * dist/, so it lives here and not in test/unit (which needs no build, no root, no OVS).
 */
import { provider as bridgeLazy } from '../../providers/ovs-bridge/resource';
import { PROJECT_ROOT, requireBuilt, serialise } from '../support/serialised-provider';

test('when the captured path is gone, the implementation is found by package name from the project folder', async () => {
  requireBuilt('dist/providers/ovs-bridge/provider.js');
  // The text the state holds, with the captured absolute path pointing nowhere: a checkout
  // that moved. The provider process runs in the project folder (this repository, whose
  // package.json is `vpm` with an `exports` map, so it resolves itself by name).
  const text = (await serialise(bridgeLazy)).text.split(JSON.stringify(`${PROJECT_ROOT}/dist/providers/ovs-bridge/provider`)).join(JSON.stringify('/nowhere/dist/providers/ovs-bridge/provider'));
  expect(text).toContain('/nowhere/');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const moved = require('require-from-string')(text).handler();
  const cwd = process.cwd();
  try {
    process.chdir(PROJECT_ROOT);
    const result = await moved.check({}, { name: 'br1' });
    // The real implementation answered: its validation names the missing inputs.
    expect(JSON.stringify(result.failures)).toMatch(/connection/);
  } finally {
    process.chdir(cwd);
  }
});
