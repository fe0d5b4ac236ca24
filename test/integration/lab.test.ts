/**
 * The lab, for real: namespaces, one OVS + sshd per hypervisor, underlay LAN, receivers.
 * Runs as root. A missing tool fails the suite with what to install; it never skips.
 * Refuses (fails) rather than tearing down a lab that someone else is running.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  Inventory,
  InventorySchema,
  LabPaths,
  labDown,
  labExec,
  labStatus,
  labUp,
  readInventory,
  requireLabTools,
} from '../../lab';
import { PidEntry, PidRegistry, isAlive } from '../../lab/procs';
import { listLabNamespaces } from '../../lab/netns';
import { which } from '../../lab/tools';
import { NS_PREFIX } from '../../lab/names';

// The suite's own plain lab (jest.config.js): its namespaces carry its prefix, not vpmlab-.
const ns = (name: string) => `${NS_PREFIX}${name}`;

const quiet = () => {};
const paths = LabPaths.default();

/** Extra tools this test uses beyond the lab's own, with the Debian package to install. */
const TEST_TOOLS: Record<string, string> = { ssh: 'openssh-client', ping: 'iputils-ping' };

describe('lab: 3 hypervisors + 1 receiver', () => {
  let inventory: Inventory;
  let weStartedIt = false;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab integration test must run as root (it creates namespaces)');
    requireLabTools(); // ToolMissingError: names the tool and says `npm run setup`
    for (const [tool, pkg] of Object.entries(TEST_TOOLS)) {
      if (!which(tool)) throw new Error(`'${tool}' is not installed: install the Debian package ${pkg} (npm run setup)`);
    }
    inventory = await labUp({ hypervisors: 3, receivers: 1, log: quiet });
    weStartedIt = true;
  }, 60_000);

  afterAll(async () => {
    if (weStartedIt) await labDown({ log: quiet }); // safety net if a test failed before the down test
  });

  test('inventory is valid, on disk, with the documented names and addresses', () => {
    expect(InventorySchema.parse(inventory)).toEqual(inventory);
    expect(readInventory(paths.inventory)).toEqual(inventory);
    expect(inventory.hypervisors.map((h) => [h.name, h.netns, h.ip, h.mac])).toEqual([
      ['h1', ns('h1'), '10.250.0.11', '02:56:50:00:00:01'],
      ['h2', ns('h2'), '10.250.0.12', '02:56:50:00:00:02'],
      ['h3', ns('h3'), '10.250.0.13', '02:56:50:00:00:03'],
    ]);
    expect(inventory.receivers).toEqual([{ name: 'r1', netns: ns('r1'), ip: '10.250.0.201', mac: '02:56:52:00:00:01' }]);
    expect(fs.statSync(inventory.privateKeyPath).mode & 0o077).toBe(0);
    expect(fs.readFileSync(inventory.knownHostsPath, 'utf8')).toBe(
      inventory.hypervisors.map((h) => `${h.ip} ${h.hostKey}\n`).join(''),
    );
    expect(new Set(inventory.hypervisors.map((h) => h.hostKey)).size).toBe(3);
  });

  test('status: every namespace and daemon alive', async () => {
    const status = await labStatus();
    expect(status.healthy).toBe(true);
    expect(status.namespaces).toEqual([ns('h1'), ns('h2'), ns('h3'), ns('r1'), ns('ul')]);
  });

  test('each hypervisor has its own OVS with br0 (netdev, fixed MAC, userspace TSO off, veth tx offload off)', async () => {
    for (const h of inventory.hypervisors) {
      const exists = await labExec(h.name, ['ovs-vsctl', 'br-exists', 'br0'], { inventory });
      expect({ node: h.name, code: exists.code, stderr: exists.stderr }).toEqual({ node: h.name, code: 0, stderr: '' });
      const cfg = await labExec(
        h.name,
        ['ovs-vsctl', 'get', 'Bridge', 'br0', 'datapath_type', 'other-config:hwaddr', '--', '--if-exists', 'get', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable'],
        { inventory },
      );
      // TSO stays off: with it, OVS 3.1 drops offloaded packets it must tunnel (lab/ovs.ts).
      expect(cfg.stdout.split('\n').slice(0, 3)).toEqual(['netdev', `"${h.mac}"`, '']);
      // The underlay end of the hypervisor's veth sends into OVS: no partial checksums.
      const offload = await labExec('ul', ['ethtool', '-k', h.name], { inventory });
      expect(offload.stdout).toMatch(/^tx-checksumming: off/m);
    }
    // A bridge that does not exist really is reported absent (the command reached that OVS).
    expect((await labExec('h1', ['ovs-vsctl', 'br-exists', 'nope'], { inventory })).code).toBe(2);
  });

  test('underlay: h1 pings h2, r1 pings h3', async () => {
    const [h1, h2, h3] = inventory.hypervisors;
    const a = await labExec(h1!.name, ['ping', '-c', '2', '-i', '0.2', '-W', '2', h2!.ip], { inventory });
    expect({ code: a.code, out: a.stdout + a.stderr }).toEqual({ code: 0, out: expect.stringContaining('2 received') });
    const b = await labExec('r1', ['ping', '-c', '1', '-W', '2', h3!.ip], { inventory });
    expect(b.code).toBe(0);
  });

  test('ssh from the underlay with the lab key and pinned host keys reaches each node\'s OVS', () => {
    for (const h of inventory.hypervisors) {
      const r = spawnSync(
        'ip',
        [
          'netns', 'exec', inventory.underlay.netns,
          'ssh', '-i', inventory.privateKeyPath,
          '-o', `UserKnownHostsFile=${inventory.knownHostsPath}`,
          '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
          '-p', String(h.sshPort), `${h.user}@${h.ip}`,
          'ovs-vsctl br-exists br0 && printf %s "$OVS_RUNDIR"',
        ],
        { encoding: 'utf8', timeout: 15_000 },
      );
      expect({ node: h.name, status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
        node: h.name,
        status: 0,
        stderr: '',
        stdout: h.ovsRunDir,
      });
    }
  });

  test('a second lab up is refused while the lab runs', async () => {
    await expect(labUp({ hypervisors: 2, receivers: 0, log: quiet })).rejects.toThrow(
      /lab .*is already running \(3 hypervisors\); run `vpm lab down` first/,
    );
    expect((await labStatus()).healthy).toBe(true); // and it left the running lab alone
  });

  test('lab down ends every process it started, deletes the namespaces and the inventory; twice is fine', async () => {
    const started: PidEntry[] = PidRegistry.load(paths.pids);
    expect(started.map((e) => e.name).sort()).toEqual(
      ['h1', 'h2', 'h3'].flatMap((h) => [`${h}/ovs-vswitchd`, `${h}/ovsdb-server`, `${h}/sshd`]).sort(),
    );
    const report = await labDown({ log: quiet });
    weStartedIt = false;
    expect(report.namespaces.sort()).toEqual([ns('h1'), ns('h2'), ns('h3'), ns('r1'), ns('ul')]);
    expect(listLabNamespaces()).toEqual([]);
    expect(started.filter((e) => isAlive(e.pid, e))).toEqual([]);
    expect(fs.existsSync(paths.inventory)).toBe(false);
    expect(fs.existsSync(paths.pids)).toBe(false);

    const again = await labDown({ log: quiet });
    expect(again).toEqual({ stopped: [], namespaces: [], removed: [] });
    await expect(labStatus()).resolves.toMatchObject({ running: false, healthy: false, namespaces: [] });
  });
});
