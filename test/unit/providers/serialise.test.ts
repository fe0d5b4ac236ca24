/**
 * What the engine stores in the state for OvsBridge and GreTunnel: the serialised closure of
 * the lazy provider. It must be small, self-contained (captures two strings, `require`s the
 * rest at run time), free of secrets and heavy modules, find the implementation by package
 * name when the captured path is gone (the project moved: a CI checkout, a PR preview), and
 * say what to do when it is nowhere. (Running the serialised providers on real hosts is in
 * test/integration/bridge-tunnel.test.ts; the moved-checkout case, which needs dist/, in
 * test/integration/serialise-moved.test.ts; from an installed tarball in test/e2e/package-consumer.)
 */
import { provider as bridgeLazy } from '../../../providers/ovs-bridge/resource';
import { provider as tunnelLazy } from '../../../providers/gre-tunnel/resource';
import { lazyProvider } from '../../../providers/common/lazy-provider';
import { PROJECT_ROOT, serialise } from '../../support/serialised-provider';

const METHODS = ['check', 'diff', 'create', 'read', 'update', 'delete'];

describe.each([
  ['OvsBridge', bridgeLazy, 'ovs-bridge/provider'],
  ['GreTunnel', tunnelLazy, 'gre-tunnel/provider'],
])('%s serialised provider', (_name, lazy, impl) => {
  test('captures only where the implementation lives, no secrets, no heavy modules', async () => {
    const s = await serialise(lazy);
    expect(s.containsSecrets).toBe(false);
    expect(s.text.length).toBeLessThan(6000);
    expect(s.text).toContain(JSON.stringify(`vpm/internal/providers/${impl}`));
    expect(s.text).toContain(JSON.stringify(`${PROJECT_ROOT}/dist/providers/${impl}`));
    expect(s.text).not.toContain('VPM_HOME');
    // Nothing of the implementation or the SDK travels in the state.
    for (const word of ['ssh2', 'zod', 'ovs-vsctl', 'getRunner', '@pulumi']) expect(s.text).not.toContain(word);
    expect(Object.keys(s.provider).sort()).toEqual([...METHODS].sort());
    expect(s.provider).not.toBe(lazy);
  });

  test('serialising twice gives the same text (a stable __provider, no spurious diffs)', async () => {
    expect((await serialise(lazy)).text).toBe((await serialise(lazy)).text);
  });
});

test('a serialised provider whose implementation is nowhere says to install or build the package', async () => {
  const s = await serialise(lazyProvider('no-such/provider'));
  // (The engine awaits the call inside an async handler, so a synchronous throw counts too.)
  await expect((async () => s.provider.check({}, {}))()).rejects.toThrow(/implementation not found .*npm install vpm.*npm run build/s);
});
