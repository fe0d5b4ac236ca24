/**
 * `check` of OvsBridge and GreTunnel: hostile or mistyped inputs are refused with clear
 * reasons BEFORE any command can run (check also runs in `pulumi preview`), the private key
 * never appears in a reason, and values unknown during preview (the engine's sentinel) pass.
 *
 * "No command runs" is proved two ways: spies on the connection pool (getRunner, withHostLock)
 * and on SshRunner.run see no call, and the connections point at an address where nothing
 * listens with a long connect timeout, yet every check returns at once.
 */
import { UNKNOWN } from '../../../providers/common/check';
import { provider as bridgeProvider } from '../../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../../providers/gre-tunnel/provider';
import { expectNoHostTouched } from '../../support/expect';

// A syntactically valid ed25519 public key line.
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
const SECRET_MARKER = 'TOPSECRETKEYMATERIAL';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`;

// TEST-NET-1 (RFC 5737): nothing answers there. Were check to connect, it would hang for a minute.
const DEAD = { host: '192.0.2.1', hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519', connectTimeoutMs: 60_000, connectAttempts: 3 };
const DEAD2 = { ...DEAD, host: '192.0.2.2' };

type Failure = { property: string; reason: string };
type CheckResult = { inputs?: Record<string, any>; failures?: Failure[] };

const bridgeInputs = (over: Record<string, unknown> = {}) => ({ connection: DEAD, owner: 'vpm/test/br1-h1', name: 'br1', ...over });
const end = (over: Record<string, unknown> = {}) => ({ connection: DEAD, bridge: 'br1', remoteIp: '10.250.0.12', portName: 'gre-h2', ...over });
const tunnelInputs = (over: Record<string, unknown> = {}) => ({
  a: end(),
  b: end({ connection: DEAD2, remoteIp: '10.250.0.11', portName: 'gre-h1' }),
  owner: 'vpm/test/gre-h1-h2',
  ...over,
});

expectNoHostTouched();

/** Runs check, asserts it was instant and leaked no secret; returns its result. */
async function timedCheck(p: typeof bridgeProvider, news: Record<string, unknown>): Promise<CheckResult> {
  const t0 = Date.now();
  const r = (await p.check!({}, news)) as CheckResult;
  expect(Date.now() - t0).toBeLessThan(500);
  const text = JSON.stringify(r.failures ?? []);
  expect(text).not.toContain(SECRET_MARKER);
  expect(text).not.toContain('BEGIN OPENSSH');
  return r;
}

async function failuresOf(p: typeof bridgeProvider, news: Record<string, unknown>): Promise<Failure[]> {
  const r = await timedCheck(p, news);
  expect(r.failures?.length ?? 0).toBeGreaterThan(0);
  expect(r.inputs).toBeUndefined();
  return r.failures!;
}

const reasonsFor = (failures: Failure[], property: string) => failures.filter((f) => f.property === property).map((f) => f.reason);

describe('OvsBridge check', () => {
  test('valid inputs pass with the documented defaults', async () => {
    const r = await timedCheck(bridgeProvider, bridgeInputs());
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({
      name: 'br1',
      datapathType: 'netdev',
      failMode: 'secure',
      protocols: ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'],
      patch: { physicalBridge: 'br0', uplink: 'eth0', overlayPort: 'patch-ovl', physicalPort: 'patch-phy' },
    });
  });

  test('the engine\'s __provider key and null optionals are not user input', async () => {
    const r = await timedCheck(bridgeProvider, { ...bridgeInputs(), __provider: 'exports.handler = ...', privateKey: null });
    expect(r.failures).toEqual([]);
    expect(r.inputs).not.toHaveProperty('__provider');
  });

  test.each([
    ['a semicolon', 'br1;reboot'],
    ['a space', 'br 1'],
    ['16 characters', 'b'.repeat(16)],
    ['a command substitution', '$(reboot)'],
    ['backticks', '`reboot`'],
    ['a leading dash (an option)', '-br1'],
    ['a newline', 'br1\nreboot'],
    ['an empty string', ''],
    ['a path', '../br1'],
  ])('name with %s is refused', async (_what, name) => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ name }));
    const reasons = reasonsFor(failures, 'name');
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r).toMatch(/^name (may use only letters|is longer than 15|must not be empty)/);
  });

  test('15 characters is the longest name accepted', async () => {
    expect((await timedCheck(bridgeProvider, bridgeInputs({ name: 'b'.repeat(15) }))).failures).toEqual([]);
  });

  test('hostile patch names, a bad ofport and foreign protocols are each refused at their own property', async () => {
    const failures = await failuresOf(
      bridgeProvider,
      bridgeInputs({
        patch: { physicalBridge: 'br0;', uplink: '$(reboot)', overlayPort: 'patch ovl', physicalPort: 'p'.repeat(16), overlayOfport: 70000 },
        protocols: ['OpenFlow15; rm -rf /'],
      }),
    );
    const props = failures.map((f) => f.property).sort();
    expect(props).toEqual(
      expect.arrayContaining(['patch.physicalBridge', 'patch.uplink', 'patch.overlayPort', 'patch.physicalPort', 'patch.overlayOfport', 'protocols[0]']),
    );
  });

  test('hostile internal port names and numbers are refused', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ internalPorts: [{ name: 'vm0;reboot', ofport: 0 }, { name: 'vm1', ofport: 5, typo: 1 }] }));
    const props = failures.map((f) => f.property);
    expect(props).toEqual(expect.arrayContaining(['internalPorts[0].name', 'internalPorts[0].ofport']));
    expect(JSON.stringify(failures)).toContain('typo');
  });

  test('protocols without OpenFlow14/15 are refused (bundles and buckets need them)', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ protocols: ['OpenFlow13'] }));
    expect(reasonsFor(failures, 'protocols')[0]).toMatch(/OpenFlow14 and OpenFlow15/);
  });

  test('a typo in a key (fialMode) is refused, naming the key', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ fialMode: 'secure' }));
    expect(JSON.stringify(failures)).toContain('fialMode');
  });

  test('a typo inside patch and inside connection is refused too', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ patch: { uplnk: 'eth0' }, connection: { ...DEAD, hots: 'x' } }));
    const text = JSON.stringify(failures);
    expect(text).toContain('uplnk');
    expect(text).toContain('hots');
  });

  test('bad enum values and the overlay bridge named like the physical one', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ failMode: 'open', datapathType: 'kernel' }));
    expect(reasonsFor(failures, 'failMode')[0]).toMatch(/'secure' or 'standalone'/);
    expect(reasonsFor(failures, 'datapathType')[0]).toMatch(/'netdev' or 'system'/);
    const clash = await failuresOf(bridgeProvider, bridgeInputs({ name: 'br0' }));
    expect(reasonsFor(clash, 'name')[0]).toMatch(/must differ from the physical bridge "br0"/);
    const ports = await failuresOf(bridgeProvider, bridgeInputs({ patch: { overlayPort: 'p1', physicalPort: 'p1' } }));
    expect(reasonsFor(ports, 'patch.physicalPort')[0]).toMatch(/different names/);
  });

  test('connection problems: bad host, missing host key, key and key path together', async () => {
    const failures = await failuresOf(
      bridgeProvider,
      bridgeInputs({ connection: { host: '10.0.0.1;reboot', hostKey: '', privateKey: PRIVATE_KEY, privateKeyPath: '/k' } }),
    );
    expect(reasonsFor(failures, 'connection.host')[0]).toMatch(/not a valid host/);
    expect(reasonsFor(failures, 'connection.hostKey')[0]).toMatch(/pinned host key is required/);
    expect(reasonsFor(failures, 'connection.privateKey')[0]).toMatch(/conflicts with privateKeyPath/);
  });

  test('the private key text never appears in a reason, wherever it is passed', async () => {
    // As the resource passes it (split out, secret) with other inputs wrong:
    await failuresOf(bridgeProvider, bridgeInputs({ privateKey: PRIVATE_KEY, name: '$(reboot)', fialMode: PRIVATE_KEY }));
    // Inline in the connection, with the connection otherwise wrong:
    await failuresOf(bridgeProvider, bridgeInputs({ connection: { host: 'bad host', hostKey: 'nope', privateKey: PRIVATE_KEY, privateKeyPath: '/k' } }));
    // A key that is malformed (the validator must not echo it):
    await failuresOf(bridgeProvider, bridgeInputs({ connection: { ...DEAD, privateKeyPath: undefined, privateKey: `not a key ${SECRET_MARKER}` } }));
    // As the value of a field that expects a name:
    await failuresOf(bridgeProvider, bridgeInputs({ name: PRIVATE_KEY, patch: { uplink: PRIVATE_KEY } }));
    // Not a string at all:
    await failuresOf(bridgeProvider, bridgeInputs({ privateKey: { text: PRIVATE_KEY } }));
  });

  test('unknown values (preview) are accepted, at the top and nested', async () => {
    for (const over of [
      { name: UNKNOWN },
      { connection: UNKNOWN },
      { connection: { ...DEAD, host: UNKNOWN } },
      { protocols: UNKNOWN },
      { protocols: ['OpenFlow14', UNKNOWN] },
      { patch: UNKNOWN },
      { patch: { overlayOfport: UNKNOWN } },
      { privateKey: UNKNOWN },
    ]) {
      const r = await timedCheck(bridgeProvider, bridgeInputs(over));
      expect({ over, failures: r.failures }).toEqual({ over, failures: [] });
      expect(r.inputs).toBeDefined();
    }
  });

  test('an unknown value does not hide a real error elsewhere', async () => {
    const failures = await failuresOf(bridgeProvider, bridgeInputs({ connection: UNKNOWN, name: 'br1;' }));
    expect(failures.map((f) => f.property)).toEqual(['name']);
  });
});

describe('GreTunnel check', () => {
  test('valid inputs pass; a missing portName gets a stable, short default', async () => {
    const r = await timedCheck(tunnelProvider, tunnelInputs());
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({ a: { underlayBridge: 'br0', portName: 'gre-h2' }, b: { underlayBridge: 'br0', portName: 'gre-h1' } });
    const d1 = await timedCheck(tunnelProvider, tunnelInputs({ a: end({ portName: undefined }), key: 7 }));
    const d2 = await timedCheck(tunnelProvider, tunnelInputs({ a: end({ portName: undefined }), key: 7 }));
    expect(d1.inputs!.a.portName).toMatch(/^gre-[A-Za-z0-9_.-]{1,11}$/);
    expect(d1.inputs!.a.portName).toBe(d2.inputs!.a.portName);
  });

  test.each([
    ['a semicolon', '10.250.0.12; reboot'],
    ['a command substitution', '$(reboot)'],
    ['a host name', 'h2.lab'],
    ['an out-of-range octet', '10.250.0.256'],
    ['leading zeros', '010.250.0.12'],
    ['an IPv6 address', 'fe80::1'],
    ['a CIDR', '10.250.0.0/24'],
    ['a trailing newline', '10.250.0.12\n'],
  ])('remoteIp with %s is refused', async (_what, remoteIp) => {
    const failures = await failuresOf(tunnelProvider, tunnelInputs({ b: end({ connection: DEAD2, remoteIp }) }));
    expect(reasonsFor(failures, 'b.remoteIp')).toEqual(['remoteIp must be a dotted-quad IPv4 address such as 10.0.0.1']);
  });

  test('hostile bridge, port and underlay names are refused at their own property', async () => {
    const failures = await failuresOf(
      tunnelProvider,
      tunnelInputs({
        a: end({ bridge: 'br1;reboot', portName: 'gre h2', underlayBridge: '$(reboot)', ofport: 0 }),
        b: end({ connection: DEAD2, bridge: 'b'.repeat(16), portName: '`id`', ofport: 1.5 }),
      }),
    );
    expect(failures.map((f) => f.property).sort()).toEqual(
      ['a.bridge', 'a.ofport', 'a.portName', 'a.underlayBridge', 'b.bridge', 'b.ofport', 'b.portName'].sort(),
    );
  });

  test('typos (remoteIP, bdf), an out-of-range key and unknown BFD fields are refused', async () => {
    const failures = await failuresOf(
      tunnelProvider,
      tunnelInputs({ a: end({ remoteIP: '10.0.0.1' }), bdf: {}, key: -1, bfd: { minTx: 10 } }),
    );
    const text = JSON.stringify(failures);
    for (const word of ['remoteIP', 'bdf', 'minTx']) expect(text).toContain(word);
    expect(reasonsFor(failures, 'key')[0]).toMatch(/0\.\.4294967295/);
  });

  test('both ends on the same host are refused', async () => {
    const failures = await failuresOf(tunnelProvider, tunnelInputs({ b: end({ remoteIp: '10.250.0.11', portName: 'gre-h1' }) }));
    expect(reasonsFor(failures, 'b.connection.host')[0]).toMatch(/same host/);
  });

  test('private keys never appear in a reason', async () => {
    await failuresOf(tunnelProvider, tunnelInputs({ aPrivateKey: PRIVATE_KEY, bPrivateKey: PRIVATE_KEY, key: 'x', a: end({ remoteIp: PRIVATE_KEY }) }));
    await failuresOf(
      tunnelProvider,
      tunnelInputs({ a: end({ connection: { host: '-oProxyCommand=x', hostKey: 'SHA256:short', privateKey: `junk ${SECRET_MARKER}` } }) }),
    );
  });

  test('unknown values (preview) are accepted', async () => {
    for (const over of [
      { a: UNKNOWN },
      { a: end({ remoteIp: UNKNOWN }) },
      { b: end({ connection: UNKNOWN, bridge: UNKNOWN, remoteIp: '10.250.0.11' }) },
      { key: UNKNOWN },
      { aPrivateKey: UNKNOWN, bPrivateKey: UNKNOWN },
    ]) {
      const r = await timedCheck(tunnelProvider, tunnelInputs(over));
      expect({ over, failures: r.failures }).toEqual({ over, failures: [] });
    }
  });

  test('an unknown value does not hide a real error elsewhere', async () => {
    const failures = await failuresOf(tunnelProvider, tunnelInputs({ a: end({ bridge: UNKNOWN, remoteIp: '1.2.3.4;' }) }));
    expect(failures.map((f) => f.property)).toEqual(['a.remoteIp']);
  });
});
