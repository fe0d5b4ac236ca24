/**
 * Two checks every provider's `check` makes before anything reaches a host:
 *  - identity: a resource that exists keeps the owner mark it was created with, whatever its
 *    name is now (renamed with aliases, its stack or project renamed), so nothing it owns on a
 *    host is replaced;
 *  - migration transport: MigratedDomain refuses qemu+tcp:// (VM memory unauthenticated and
 *    unencrypted) unless the host says its network is closed (allowUnencryptedMigration).
 */
import { keepOwner } from '../../../providers/common/owner';
import { provider as bridgeProvider } from '../../../providers/ovs-bridge/provider';
import { provider as domainProvider } from '../../../providers/migrated-domain/provider';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM//z5YjiORumZAWztd4MfUoAB3rnA0Zqj+NL9cfaw9K';
const conn = (host: string) => ({ host, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });

const bridge = (owner: string) => ({ connection: conn('192.0.2.1'), owner, name: 'br1' });

const domain = (extra: Record<string, unknown> = {}) => ({
  name: 'leafvm',
  host: 'h3',
  connection: conn('192.0.2.3'),
  migrationUri: 'qemu+ssh://192.0.2.3/system',
  role: 'leaf',
  memoryMiB: 96,
  vcpus: 1,
  kernel: '/srv/vpm/vmlinux',
  initrd: '/srv/vpm/initrd.img',
  cmdline: 'console=ttyS0',
  network: { bridge: 'br1', tap: 'vt-leafvm', ofport: 20, mac: '02:56:99:00:00:14' },
  owner: 'mine/dev/tree-vm-leafvm',
  ...extra,
});

describe('owner marks survive renames', () => {
  test('keepOwner: an existing resource keeps its owner; a new one takes the derived one', () => {
    expect(keepOwner({ owner: 'mine/dev/mine-bridge-a' }, { owner: 'ours/dev2/ours-bridge-a', name: 'br1' })).toEqual({ owner: 'mine/dev/mine-bridge-a', name: 'br1' });
    expect(keepOwner({}, { owner: 'ours/dev2/ours-bridge-a' })).toEqual({ owner: 'ours/dev2/ours-bridge-a' });
    expect(keepOwner(undefined, { owner: 'x' })).toEqual({ owner: 'x' });
  });

  test('check after a rename keeps the old owner, so diff sees no change to replace for', async () => {
    const created = await bridgeProvider.check!({}, bridge('mine/dev/mine-bridge-a'));
    expect(created.failures ?? []).toEqual([]);
    const renamed = await bridgeProvider.check!(created.inputs, bridge('ours/dev2/ours-bridge-a'));
    expect(renamed.inputs.owner).toBe('mine/dev/mine-bridge-a');
    const d = await bridgeProvider.diff!('id', { ...created.inputs, providerVersion: renamed.inputs.providerVersion, patchPresent: true }, renamed.inputs);
    expect(d.replaces ?? []).toEqual([]);
  });
});

describe('migration transport', () => {
  test('qemu+ssh and qemu+tls pass', async () => {
    for (const uri of ['qemu+ssh://192.0.2.3/system', 'qemu+tls://hv3.example.net/system']) {
      expect((await domainProvider.check!({}, domain({ migrationUri: uri }))).failures ?? []).toEqual([]);
    }
  });

  test('qemu+tcp is refused with the fix, unless the host allows it', async () => {
    const refused = await domainProvider.check!({}, domain({ migrationUri: 'qemu+tcp://192.0.2.3/system' }));
    expect(refused.failures).toEqual([
      { property: 'migrationUri', reason: expect.stringMatching(/unauthenticated and unencrypted: use qemu\+ssh:\/\/ or qemu\+tls:\/\/, or set allowUnencryptedMigration/) },
    ]);
    const allowed = await domainProvider.check!({}, domain({ migrationUri: 'qemu+tcp://192.0.2.3/system', allowUnencryptedMigration: true }));
    expect(allowed.failures ?? []).toEqual([]);
  });
});
