/**
 * Shared helpers for tests that drive the real lab: a lab-up on the suite's own lab
 * (jest.config.js). The preconditions that FAIL (never skip) with what to install, and OVS
 * inspection through `labExec`, are the lab's (lab/tools.ts, lab/testbeds/lab-hosts.ts: the
 * benches use them too) and re-exported here.
 */
import { LabError, labDown, labUp, type Inventory } from '../../lab';

export { requireLabPrerequisites } from '../../lab/tools';
export { LabHosts } from '../../lab/testbeds/lab-hosts';

const quiet = (): void => {};

const BUSY = /already running|namespaces exist without an inventory/;

/**
 * `labUp` of the suite's own lab. The suite's lab is its own (jest.config.js), so a running one is a
 * leftover of a killed run of this checkout: by default that fails at once with the command
 * that removes it (`waitMs` > 0 waits for it instead). Never tears down a lab it did not start.
 */
export async function acquireLab(
  options: { hypervisors: number; receivers?: number },
  { waitMs = 0, retryMs = 30_000, log = (l: string) => process.stderr.write(`${l}\n`) } = {},
): Promise<Inventory> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await labUp({ hypervisors: options.hypervisors, receivers: options.receivers ?? 0, log: quiet });
    } catch (e) {
      if (e instanceof LabError && BUSY.test(e.message) && Date.now() + retryMs > deadline) {
        throw new LabError(
          `${e.message}\nThe test suite's own lab is busy: another \`npm test\` of this checkout runs, or a killed one left it. ` +
            `Remove it with: VPM_LAB_NS_PREFIX=${process.env.VPM_LAB_NS_PREFIX ?? ''} VPM_LAB_DIR=${process.env.VPM_LAB_DIR ?? ''} npx vpm lab down`,
        );
      }
      if (!(e instanceof LabError) || !BUSY.test(e.message)) throw e;
      log(`${e.message}; waiting ${retryMs / 1000} s for it to go away`);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

export async function releaseLab(): Promise<void> {
  await labDown({ log: quiet });
}
