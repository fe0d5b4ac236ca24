/**
 * What the engine stores in the state for OvsBridge and GreTunnel: the serialised closure of
 * the lazy provider. It must be small, self-contained (captures two strings, `require`s the
 * rest at run time), free of secrets and heavy modules, and say what to do when the compiled
 * implementation is missing. (Running the serialised providers on real hosts is in
 * test/integration/bridge-tunnel.test.ts.)
 */
import { provider as bridgeLazy } from '../../../providers/ovs-bridge/resource';
import { provider as tunnelLazy } from '../../../providers/gre-tunnel/resource';
import { lazyProvider } from '../../../providers/common/lazy-provider';
import { PROJECT_ROOT, serialise } from '../../helpers/serialised-provider';

const METHODS = ['check', 'diff', 'create', 'read', 'update', 'delete'];

describe.each([
  ['OvsBridge', bridgeLazy, 'dist/providers/ovs-bridge/provider'],
  ['GreTunnel', tunnelLazy, 'dist/providers/gre-tunnel/provider'],
])('%s serialised provider', (_name, lazy, implFromRoot) => {
  test('captures only where the implementation lives, no secrets, no heavy modules', async () => {
    const s = await serialise(lazy);
    expect(s.containsSecrets).toBe(false);
    expect(s.text.length).toBeLessThan(6000);
    expect(s.text).toContain(JSON.stringify(implFromRoot));
    expect(s.text).toContain(JSON.stringify(`${PROJECT_ROOT}/${implFromRoot}`));
    // Nothing of the implementation or the SDK travels in the state.
    for (const word of ['ssh2', 'zod', 'ovs-vsctl', 'getRunner', '@pulumi']) expect(s.text).not.toContain(word);
    expect(Object.keys(s.provider).sort()).toEqual([...METHODS].sort());
    expect(s.provider).not.toBe(lazy);
  });

  test('serialising twice gives the same text (a stable __provider, no spurious diffs)', async () => {
    expect((await serialise(lazy)).text).toBe((await serialise(lazy)).text);
  });
});

test('a serialised provider whose implementation is not built says to build it', async () => {
  const s = await serialise(lazyProvider('dist/providers/no-such/provider'));
  // (The engine awaits the call inside an async handler, so a synchronous throw counts too.)
  await expect((async () => s.provider.check({}, {}))()).rejects.toThrow(/implementation not found .*run `npm run build`.*VPM_HOME/s);
});
