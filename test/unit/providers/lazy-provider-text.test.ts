/**
 * The `__provider` text VPM writes for its dynamic resources (providers/common/lazy-provider.ts)
 * without the SDK's closure serialiser: byte for byte what @pulumi/pulumi's dynamic.Resource
 * stores (`serializeFunction(() => provider)`), so stacks written before see no change; and the
 * resources keep their type tokens (`pulumi-nodejs:dynamic/vpm:<Kind>`), names and inputs.
 */
import * as pulumi from '@pulumi/pulumi';
import { LazyDynamicResource, lazyProvider, serialisedProviderText } from '../../../providers/common/lazy-provider';

const KINDS = ['ovs-bridge/provider', 'gre-tunnel/provider', 'flow-path/provider', 'migrated-domain/provider', 'no-such/provider'];

describe('lazy provider text', () => {
  test.each(KINDS)('%s: identical to the SDK serialiser output', async (impl) => {
    const provider = lazyProvider(impl);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sc = require('@pulumi/pulumi/runtime/closure/serializeClosure');
    // The very closure @pulumi/pulumi dynamic/index.js serialises: `() => provider`.
    const sdk = await sc.serializeFunction(() => provider, { allowSecrets: true });
    expect(serialisedProviderText(provider)).toBe(sdk.text);
    expect(sdk.containsSecrets).toBe(false);
  });

  test('any other object has no text, and LazyDynamicResource refuses it', () => {
    const plain: pulumi.dynamic.ResourceProvider = { create: async () => ({ id: 'x' }) };
    expect(serialisedProviderText(plain)).toBeUndefined();
    expect(() => new LazyDynamicResource(plain, 'r', {}, undefined, 'vpm', 'OvsBridge')).toThrow(/r: LazyDynamicResource needs a provider made by lazyProvider\(\)/);
    expect(() => new LazyDynamicResource(lazyProvider('ovs-bridge/provider'), 'r', { __provider: 'x' }, undefined, 'vpm', 'OvsBridge')).toThrow(/must not define the __provider key/);
  });
});

describe('registration under mocks', () => {
  const registered: pulumi.runtime.MockResourceArgs[] = [];
  beforeAll(() => {
    pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push(args);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      'proj',
      'stack',
      false,
    );
  });

  test('same type token, name and inputs as pulumi.dynamic.Resource, and the same __provider', async () => {
    const provider = lazyProvider('ovs-bridge/provider');
    const mine = new LazyDynamicResource(provider, 'br1-h1', { name: 'br1', n: 3 }, undefined, 'vpm', 'OvsBridge');
    class SdkResource extends pulumi.dynamic.Resource {}
    const sdk = new SdkResource(provider, 'br1-h2', { name: 'br1', n: 3 }, undefined, 'vpm', 'OvsBridge');
    await new Promise<void>((resolve) => pulumi.all([mine.urn, sdk.urn]).apply(() => resolve()));
    const [a, b] = ['br1-h1', 'br1-h2'].map((n) => registered.find((r) => r.name === n)!);
    expect(a.type).toBe('pulumi-nodejs:dynamic/vpm:OvsBridge');
    expect(b.type).toBe(a.type);
    expect(a.inputs).toEqual(b.inputs);
    expect(a.inputs.__provider).toBe(serialisedProviderText(provider));
    expect(await new Promise((resolve) => mine.urn.apply(resolve))).toBe('urn:pulumi:stack::proj::pulumi-nodejs:dynamic/vpm:OvsBridge::br1-h1');
  });
});

describe('stack formatting while registering', () => {
  test('the SDK takes its stack traces with V8\'s own formatter; the installed one is back afterwards, also when registration throws', () => {
    const installed = (_e: Error, frames: NodeJS.CallSite[]) => `mapped ${frames.length}`;
    const seen: Array<typeof Error.prepareStackTrace> = [];
    // Resource.callsites is where the SDK takes the registration's stack (its source position).
    const R = pulumi.Resource as unknown as { callsites: () => unknown[] };
    const original = R.callsites.bind(R);
    const spy = jest.spyOn(R, 'callsites').mockImplementation(() => {
      seen.push(Error.prepareStackTrace);
      return original();
    });
    Error.prepareStackTrace = installed;
    try {
      new LazyDynamicResource(lazyProvider('ovs-bridge/provider'), 'fmt-a', { name: 'br1' }, undefined, 'vpm', 'OvsBridge');
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((f) => f === undefined)).toBe(true);
      expect(Error.prepareStackTrace).toBe(installed);
      // A registration that throws (a bad option) restores it too.
      expect(() => new LazyDynamicResource(lazyProvider('ovs-bridge/provider'), 'fmt-b', { name: 'br1' }, { parent: {} as never }, 'vpm', 'OvsBridge')).toThrow();
      expect(Error.prepareStackTrace).toBe(installed);
    } finally {
      (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
      spy.mockRestore();
    }
  });
});
