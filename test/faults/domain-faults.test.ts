/**
 * MigratedDomain faults (issue 17, items 2, 3, 5, 6), against a fake world of hypervisors:
 * the provider's host commands (virsh, tap, readiness) are replaced by spies that act on an
 * in-memory map of hosts, each of which can be made unreachable or made to fail one command.
 *
 *  - read FAILS (never "gone") when a peer cannot be asked; peers are asked with the same
 *    credentials as the domain's host (an inline key too);
 *  - create rolls back the tap and the definition when start fails, and names what it could
 *    not roll back;
 *  - a live migration that succeeded is recorded (host = destination, secrets still secret,
 *    the serialised provider kept) even when the readiness check after it fails;
 *  - tap names: `eth0` is refused by check; an existing non-tap link is never taken nor deleted;
 *  - migration URIs: `?query` and unauthorised qemu+tcp are refused by the virsh layer too.
 */
import * as pool from '../../providers/exec/pool';
import { isSecretWrapped, PartialStateError } from '../../providers/common/partial';
import { RolledBackError } from '../../providers/common/rollback';
import * as virsh from '../../providers/libvirt/virsh';
import * as readiness from '../../providers/migrated-domain/readiness';
import * as progress from '../../providers/migrated-domain/progress';
import * as tap from '../../providers/migrated-domain/tap';
import * as vsctl from '../../providers/ovs/vsctl';
import { provider } from '../../providers/migrated-domain/provider';
import { RecordingRunner } from '../../providers/exec/recording';
import type { MigratedDomainOutputs } from '../../providers/migrated-domain/types';
import type { CommandRunner } from '../../providers/exec/runner';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (host: string) => ({ host, hostKey: HOST_KEY });

interface FakeHost {
  reachable: boolean;
  domains: Map<string, string>;
  taps: Set<string>;
  /** Commands that fail on this host, by name. */
  failing: Set<string>;
}
let world: Map<string, FakeHost>;
/** Every connection spec the provider asked the pool for. */
let specs: Array<Record<string, unknown>>;

const hostOf = (r: CommandRunner): FakeHost => world.get(r.host)!;
function act(r: CommandRunner, what: string): FakeHost {
  const h = hostOf(r);
  if (!h.reachable) throw new Error(`cannot connect to root@${r.host}:22 after 10 attempts`);
  if (h.failing.has(what)) throw new Error(`${what} failed on ${r.host}`);
  return h;
}

beforeEach(() => {
  world = new Map(
    ['192.0.2.3', '192.0.2.4', '192.0.2.5'].map((a) => [a, { reachable: true, domains: new Map(), taps: new Set(), failing: new Set() }]),
  );
  specs = [];
  jest.spyOn(pool, 'getRunner').mockImplementation((spec) => {
    specs.push(spec as never);
    // No inline key and no key path: the agent, which this machine does not have. The real
    // runner fails the same way, before any I/O.
    if (!spec.privateKey && !spec.privateKeyPath) {
      return { host: spec.host, run: () => Promise.reject(new Error('no privateKey or privateKeyPath given and SSH_AUTH_SOCK is not set')) } as never;
    }
    return new RecordingRunner({ host: spec.host, handler: () => ({}) });
  });
  jest.spyOn(virsh, 'domainState').mockImplementation(async (r, name) => {
    if (!(r instanceof RecordingRunner)) await r.run(['virsh', 'list']);
    return act(r, 'list').domains.get(name) as never;
  });
  jest.spyOn(virsh, 'defineDomain').mockImplementation(async (r) => void act(r, 'define').domains.set('leafvm', 'shut off'));
  jest.spyOn(virsh, 'startDomain').mockImplementation(async (r, name) => void act(r, 'start').domains.set(name, 'running'));
  jest.spyOn(virsh, 'destroyAndUndefine').mockImplementation(async (r, name) => void act(r, 'undefine').domains.delete(name));
  jest.spyOn(virsh, 'completedJob').mockResolvedValue(undefined);
  jest.spyOn(virsh, 'migrateLive').mockImplementation(async (r, name) => {
    act(r, 'migrate').domains.delete(name);
    world.get('192.0.2.4')!.domains.set(name, 'running');
  });
  jest.spyOn(tap, 'ensureTap').mockImplementation(async (r, net) => {
    const h = act(r, 'tap');
    const made = !h.taps.has(net.tap);
    h.taps.add(net.tap);
    return made;
  });
  jest.spyOn(tap, 'removeTap').mockImplementation(async (r, net) => void act(r, 'untap').taps.delete(net.tap));
  jest.spyOn(progress, 'watchMigration').mockReturnValue(() => undefined);
  jest.spyOn(readiness, 'waitUntilGuestAnswers').mockImplementation(async (r) => (act(r, 'ready'), 1));
});
afterEach(() => jest.restoreAllMocks());

const base = (): MigratedDomainOutputs => ({
  name: 'leafvm',
  host: 'h3',
  connection: conn('192.0.2.3'),
  privateKey: KEY,
  migrationUri: 'qemu+ssh://192.0.2.3/system',
  role: 'leaf',
  memoryMiB: 96,
  vcpus: 1,
  kernel: '/srv/vpm/vmlinux',
  initrd: '/srv/vpm/initrd.img',
  cmdline: 'console=ttyS0',
  network: { bridge: 'br1', tap: 'vt-leafvm', ofport: 120, mac: '52:54:00:00:00:14', readiness: { port: 9999, ip: '10.99.0.20', probeIp: '10.99.0.250', probeMac: '02:00:00:00:00:fa', timeoutMs: 1000 } },
  migration: { live: true, timeoutMs: 120_000 },
  peers: [
    { host: 'h4', connection: conn('192.0.2.4') },
    { host: 'h5', connection: conn('192.0.2.5') },
  ],
  owner: 'vpm/dev/leafvm',
  state: 'running',
  providerVersion: 'x',
});

describe('read: never "gone" unless every host answered', () => {
  it('a peer that cannot be asked fails the refresh, naming it; nothing is reported gone', async () => {
    world.get('192.0.2.5')!.reachable = false; // h5 down; the VM is on no host that answered
    const err = await provider.read!('leafvm', base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/cannot tell whether leafvm still exists: it is not on h3, and 1 peer host\(s\) could not be asked: h5 \(cannot connect/);
    expect(String(err)).not.toContain('BEGIN OPENSSH');
  });

  it('peers are asked with the domain\'s inline key: a VM moved by hand to h4 is found there', async () => {
    world.get('192.0.2.4')!.domains.set('leafvm', 'running');
    const r = await provider.read!('leafvm', base());
    expect(r.id).toBe('leafvm');
    expect(r.props).toMatchObject({ host: 'h4', connection: { host: '192.0.2.4' }, state: 'running', privateKey: KEY });
    expect(specs.filter((s) => s.host === '192.0.2.4').every((s) => s.privateKey === KEY)).toBe(true);
  });

  it('a peer with a key of its own (peerPrivateKeys) is asked with that key', async () => {
    const other = KEY.replace('b3Bl', 'c3Bl');
    world.get('192.0.2.4')!.domains.set('leafvm', 'running');
    const r = await provider.read!('leafvm', { ...base(), peerPrivateKeys: [other, null] });
    expect(r.props).toMatchObject({ host: 'h4', privateKey: other });
  });

  it('a peer with a key file of its own: found there, and the inline key is not carried over (one credential each)', async () => {
    world.get('192.0.2.4')!.domains.set('leafvm', 'running');
    const p = base();
    p.peers[0] = { host: 'h4', connection: { ...conn('192.0.2.4'), privateKeyPath: '/keys/h4' } };
    const r = await provider.read!('leafvm', p);
    expect(r.props).toMatchObject({ host: 'h4', connection: { privateKeyPath: '/keys/h4' } });
    expect((r.props as MigratedDomainOutputs).privateKey).toBeUndefined();
  });

  it('"gone" only when the host and every peer answered without it', async () => {
    await expect(provider.read!('leafvm', base())).resolves.toEqual({ id: '', props: {} });
  });

  it('the recorded host unreachable: read fails (it always did; kept)', async () => {
    world.get('192.0.2.3')!.reachable = false;
    await expect(provider.read!('leafvm', base())).rejects.toThrow(/cannot connect to root@192.0.2.3/);
  });
});

describe('create rolls back', () => {
  const inputs = () => {
    const { state: _s, providerVersion: _v, ...i } = base();
    return i;
  };
  it('start fails: the definition and the tap it made are removed; the error says so', async () => {
    world.get('192.0.2.3')!.failing.add('start');
    const err = await provider.create!(inputs() as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(String(err)).toMatch(/creating leafvm on h3 failed: start failed on 192.0.2.3/);
    expect(String(err)).toMatch(/rolled back: domain leafvm on h3; tap vt-leafvm \(port on br1\) on h3/);
    const h3 = world.get('192.0.2.3')!;
    expect([...h3.domains.keys()]).toEqual([]);
    expect([...h3.taps]).toEqual([]);
  });

  it('the rollback fails too: what is left and where is named', async () => {
    const h3 = world.get('192.0.2.3')!;
    h3.failing.add('start');
    h3.failing.add('untap');
    const err = (await provider.create!(inputs() as never).catch((e: unknown) => e)) as RolledBackError;
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.leftBehind).toEqual([{ what: 'tap vt-leafvm (port on br1)', where: 'h3', error: 'untap failed on 192.0.2.3' }]);
    expect(err.message).toMatch(/rollback incomplete, LEFT BEHIND: tap vt-leafvm \(port on br1\) on h3/);
    expect([...h3.domains.keys()]).toEqual([]); // the definition was still undone
  });

  it('a tap that existed before the create is not removed by its rollback', async () => {
    const h3 = world.get('192.0.2.3')!;
    h3.taps.add('vt-leafvm');
    h3.failing.add('start');
    await expect(provider.create!(inputs() as never)).rejects.toThrow(/rolled back: domain leafvm on h3$/m);
    expect([...h3.taps]).toEqual(['vt-leafvm']);
  });
});

describe('a migration that succeeded is recorded even when a later step fails', () => {
  it('readiness fails on the destination: the update fails AND records host h4 (secrets wrapped, provider kept)', async () => {
    world.get('192.0.2.3')!.domains.set('leafvm', 'running');
    world.get('192.0.2.4')!.failing.add('ready');
    const olds = base();
    const news = { ...base(), host: 'h4', connection: conn('192.0.2.4'), migrationUri: 'qemu+ssh://192.0.2.4/system', __provider: 'serialised-provider' };
    const err = (await provider.update!('leafvm', olds, news).catch((e: unknown) => e)) as PartialStateError;
    expect(err).toBeInstanceOf(PartialStateError);
    expect(err.id).toBe('leafvm');
    expect(err.message).toMatch(/leafvm was live-migrated from h3 to h4 \(recorded: the state now names h4\), but a later step failed: ready failed/);
    expect(err.properties).toMatchObject({ host: 'h4', connection: { host: '192.0.2.4' }, state: 'running', lastMigration: { from: 'h3', to: 'h4' }, __provider: 'serialised-provider' });
    expect(isSecretWrapped(err.properties.privateKey)).toBe(true);
    expect(JSON.stringify(err.message)).not.toContain('BEGIN OPENSSH');
    expect(world.get('192.0.2.4')!.domains.get('leafvm')).toBe('running');
  });

  it('the migration itself fails: an ordinary error, the state keeps the source', async () => {
    world.get('192.0.2.3')!.domains.set('leafvm', 'running');
    world.get('192.0.2.3')!.failing.add('migrate');
    const news = { ...base(), host: 'h4', connection: conn('192.0.2.4'), migrationUri: 'qemu+ssh://192.0.2.4/system' };
    const err = await provider.update!('leafvm', base(), news).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(PartialStateError);
    expect(String(err)).toMatch(/live migration of leafvm from h3 to h4 failed/);
  });
});

describe('the destination tap during a migration (issue 18: stale frames replayed)', () => {
  it('holds only a few frames while the VM moves, the usual 1000 once it runs there, and the settings reach virsh', async () => {
    world.get('192.0.2.3')!.domains.set('leafvm', 'running');
    const log: string[] = [];
    const realMigrate = jest.mocked(virsh.migrateLive).getMockImplementation()!;
    jest.spyOn(virsh, 'migrateLive').mockImplementation(async (r, name, o) => {
      log.push(`migrate ${JSON.stringify({ bandwidthMiBs: o.bandwidthMiBs, postcopy: o.postcopy, maxDowntimeMs: o.maxDowntimeMs })}`);
      return realMigrate(r, name, o);
    });
    jest.spyOn(pool, 'getRunner').mockImplementation((spec) => new RecordingRunner({ host: spec.host, handler: (c) => (log.push(`${spec.host}: ${c.argv.join(' ')}`), {}) }));
    const news = { ...base(), host: 'h4', connection: conn('192.0.2.4'), migrationUri: 'qemu+ssh://192.0.2.4/system', migration: { live: true, timeoutMs: 120_000, maxDowntimeMs: 5, bandwidthMiBs: 30 } };
    await provider.update!('leafvm', base(), news);
    const queue = log.filter((l) => l.includes('txqueuelen') || l.startsWith('migrate'));
    expect(queue).toEqual([
      '192.0.2.4: ip link set dev vt-leafvm txqueuelen 8',
      'migrate {"bandwidthMiBs":30,"maxDowntimeMs":5}',
      '192.0.2.4: ip link set dev vt-leafvm txqueuelen 1000',
    ]);
  });

  it('destinationQueueFrames is checked (1..1000) and used', async () => {
    const { state: _s, providerVersion: _v, ...i } = base();
    for (const bad of [0, 1001, 2.5]) {
      const r = await provider.check!({}, { ...i, migration: { live: true, timeoutMs: 120_000, destinationQueueFrames: bad } });
      expect(r.failures?.map((f) => f.property)).toEqual(['migration.destinationQueueFrames']);
    }
    const ok = await provider.check!({}, { ...i, migration: { live: true, timeoutMs: 120_000, destinationQueueFrames: 32, postcopy: true } });
    expect(ok.failures ?? []).toEqual([]);
  });
});

describe('tap names', () => {
  it('check refuses a host interface (eth0) and any name without VPM\'s prefix', async () => {
    for (const bad of ['eth0', 'br0', 'ens3', 'vnet0', 'tap0']) {
      const { state: _s, providerVersion: _v, ...i } = base();
      const r = await provider.check!({}, { ...i, network: { ...i.network, tap: bad } });
      expect(r.inputs).toBeUndefined();
      expect(r.failures?.[0]?.reason).toMatch(/network.tap must start with "vt-"/);
    }
  });

  it('on the host: an existing link that is not a tap is refused, never added to br1 nor deleted', async () => {
    jest.restoreAllMocks();
    jest.spyOn(vsctl, 'portInfo').mockResolvedValue(undefined);
    const runner = new RecordingRunner({
      host: 'h3',
      handler: (call) => (call.argv[1] === '-details' ? { stdout: '7: vt-x: <BROADCAST,MULTICAST,UP> mtu 1500\n    link/ether 52:54:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n    veth\n' } : {}),
    });
    const net = { bridge: 'br1', tap: 'vt-x', ofport: 120, mac: '52:54:00:00:00:14' };
    await expect(tap.ensureTap(runner, net, 'vpm/dev/leafvm')).rejects.toThrow(/"vt-x" exists and is not a tap device/);
    await tap.removeTap(runner, net, 'vpm/dev/leafvm');
    expect(runner.argvs.filter((a) => a.includes('tuntap') || a.includes('add-port') || a.includes('del-port'))).toEqual([]);
    // A state written before the rule, naming eth0: removeTap leaves it alone.
    const r2 = new RecordingRunner({ host: 'h3', handler: () => ({ stdout: 'eth0: tun type tap' }) });
    await tap.removeTap(r2, { ...net, tap: 'eth0' }, 'vpm/dev/leafvm');
    expect(r2.argvs.filter((a) => a.includes('tuntap') || a.includes('del-port'))).toEqual([]);
  });
});

describe('migration URIs at the virsh layer', () => {
  it('refuses ?query, an option-like host, and qemu+tcp unless allowed', async () => {
    jest.restoreAllMocks();
    const runner = new RecordingRunner({ host: 'h3', handler: () => ({}) });
    for (const uri of ['qemu+ssh://h4/system?command=/bin/sh', 'qemu+ssh://h4/system?socket=/tmp/x', 'qemu+ssh://-oProxyCommand=x/system']) {
      await expect(virsh.migrateLive(runner, 'leafvm', { destinationUri: uri, timeoutMs: 1000 })).rejects.toThrow(/invalid migration URI/);
    }
    await expect(virsh.migrateLive(runner, 'leafvm', { destinationUri: 'qemu+tcp://h4/system', timeoutMs: 1000 })).rejects.toThrow(/qemu\+tcp:\/\/ migrates VM memory unauthenticated/);
    expect(runner.calls).toHaveLength(0);
    await virsh.migrateLive(runner, 'leafvm', { destinationUri: 'qemu+tcp://h4/system', allowUnencrypted: true, timeoutMs: 1000 });
    expect(runner.argvs).toEqual([['virsh', 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', 'leafvm', 'qemu+tcp://h4/system']]);
  });

  it('max downtime, bandwidth cap and post-copy become virsh options; a bad number is refused before any command', async () => {
    jest.restoreAllMocks();
    const runner = new RecordingRunner({ host: 'h3', handler: () => ({}) });
    await virsh.migrateLive(runner, 'leafvm', { destinationUri: 'qemu+ssh://h4/system', maxDowntimeMs: 5, bandwidthMiBs: 30, postcopy: true, timeoutMs: 1000 });
    expect(runner.argvs).toEqual([
      ['virsh', 'migrate-setmaxdowntime', 'leafvm', '5'],
      ['virsh', 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--bandwidth', '30', '--postcopy', '--postcopy-after-precopy', 'leafvm', 'qemu+ssh://h4/system'],
    ]);
    const none = new RecordingRunner({ host: 'h3', handler: () => ({}) });
    await expect(virsh.migrateLive(none, 'leafvm', { destinationUri: 'qemu+ssh://h4/system', bandwidthMiBs: 0.5, timeoutMs: 1000 })).rejects.toThrow(/bandwidthMiBs must be a positive integer/);
    expect(none.calls).toHaveLength(0);
  });
});
