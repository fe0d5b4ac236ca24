/**
 * One Open vSwitch per hypervisor: its own ovsdb-server and ovs-vswitchd, both started inside
 * the hypervisor's namespace with OVS_RUNDIR = OVS_DBDIR = OVS_LOGDIR = OVS_SYSCONFDIR =
 * `.lab/hK/ovs` (else all instances collide on /var/run/openvswitch), pidfiles there.
 * br0 (netdev datapath, fail_mode standalone = NORMAL forwarding) holds eth0 and the fixed MAC;
 * it is configured in the database before ovs-vswitchd starts, which applies it at once.
 * `userspace-tso-enable` stays off (the default): with it, OVS 3.1 drops every packet with
 * offload flags that it should tunnel ("Tunneling packets with HW offload flags is not
 * supported"), i.e. all UDP from VM taps and internal ports into GRE. Partial checksums from
 * namespace kernels over veths are avoided instead by turning tx offload off (lab/up.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HYPERVISOR_BRIDGE, HypervisorNames, NODE_IFACE, ovsEnv } from './names';
import { PidRegistry, readPidFile } from './procs';
import { sh } from './sh';
import { OVS_SCHEMA, ToolPaths } from './tools';

export const OVS_PROTOCOLS = 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15';

/** Longest unix socket path OVS will create there: "<dir>/ovs-vswitchd.<pid>.ctl" (pid <= 7 digits). */
const SOCKET_SUFFIX_MAX = '/ovs-vswitchd.4194304.ctl'.length;
const SUN_PATH_MAX = 107;

export function checkOvsDirLength(ovsDir: string): void {
  if (ovsDir.length + SOCKET_SUFFIX_MAX > SUN_PATH_MAX) {
    throw new Error(
      `OVS state directory ${ovsDir} is too long for unix socket paths (${SUN_PATH_MAX} bytes); ` +
        'set VPM_LAB_DIR to a shorter directory (e.g. /tmp/vpmlab)',
    );
  }
}

export function ovsPidFiles(ovsDir: string): { ovsdbServer: string; ovsVswitchd: string } {
  return { ovsdbServer: path.join(ovsDir, 'ovsdb-server.pid'), ovsVswitchd: path.join(ovsDir, 'ovs-vswitchd.pid') };
}

type Step = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Starts hK's OVS with br0 configured; registers both daemons as they start. */
export async function startHypervisorOvs(
  tools: ToolPaths,
  h: HypervisorNames,
  ovsDir: string,
  pids: PidRegistry,
  step: Step,
): Promise<void> {
  checkOvsDirLength(ovsDir);
  fs.mkdirSync(ovsDir, { recursive: true });
  const env = ovsEnv(ovsDir);
  const files = ovsPidFiles(ovsDir);
  const db = path.join(ovsDir, 'conf.db');
  const sock = `unix:${path.join(ovsDir, 'db.sock')}`;
  const where = h.netns;
  const inNs = (argv: string[]) => [tools.ip, 'netns', 'exec', h.netns, ...argv];

  await step('create OVS database', () => sh([tools['ovsdb-tool'], 'create', db, OVS_SCHEMA], { where }));
  await step('start ovsdb-server', async () => {
    await sh(
      inNs([
        tools['ovsdb-server'],
        db,
        `--remote=punix:${path.join(ovsDir, 'db.sock')}`,
        `--pidfile=${files.ovsdbServer}`,
        `--log-file=${path.join(ovsDir, 'ovsdb-server.log')}`,
        '--detach',
      ]),
      { env, where },
    );
    registerFromPidFile(pids, `${h.name}/ovsdb-server`, files.ovsdbServer);
  });
  await step('configure br0', () =>
    sh(
      [
        tools['ovs-vsctl'],
        `--db=${sock}`,
        '--no-wait',
        '--',
        'init',
        '--',
        'add-br',
        HYPERVISOR_BRIDGE,
        '--',
        'set',
        'Bridge',
        HYPERVISOR_BRIDGE,
        'datapath_type=netdev',
        'fail_mode=standalone',
        `protocols=${OVS_PROTOCOLS}`,
        `other-config:hwaddr="${h.mac}"`,
        '--',
        'add-port',
        HYPERVISOR_BRIDGE,
        NODE_IFACE,
      ],
      { env, where },
    ),
  );
  await step('start ovs-vswitchd', async () => {
    await sh(
      inNs([
        tools['ovs-vswitchd'],
        sock,
        '--disable-system',
        `--pidfile=${files.ovsVswitchd}`,
        `--log-file=${path.join(ovsDir, 'ovs-vswitchd.log')}`,
        '--detach',
      ]),
      { env, where, timeoutMs: 30_000 },
    );
    registerFromPidFile(pids, `${h.name}/ovs-vswitchd`, files.ovsVswitchd);
  });
}

/** OVS daemons write their pidfile before `--detach` returns. */
function registerFromPidFile(pids: PidRegistry, name: string, file: string): void {
  const pid = readPidFile(file);
  if (pid === undefined) throw new Error(`${name} started but wrote no pidfile at ${file}`);
  pids.add(name, pid);
}
