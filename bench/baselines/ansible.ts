/**
 * Baseline (b): the same convergence with Ansible, as an operator would write it with
 * Debian's `ansible` package: the openvswitch.openvswitch collection's modules for the
 * bridge (openvswitch_bridge) and the patch, internal and GRE ports (openvswitch_port; the GRE
 * ports with BFD as VPM sets it, in the port's `set`),
 * `shell` tasks for br0's rule, the tunnel neighbour entries and the host's flows (the
 * collection has no flow module). A generated inventory (host vars: the host's ports,
 * neighbours and flows) and playbook; ansible-playbook runs in the lab's underlay namespace
 * (a controller on the hypervisors' network), no fact gathering, forks = number of hosts
 * (hosts in parallel, like VPM), SSH pipelining on, ControlPersist as Ansible's default.
 *
 * Every task looks before it changes, so a re-run reports real changes: the modules do so
 * themselves (`ok` when the port exists); the shell tasks inspect first (dump-flows,
 * tnl/neigh/show, `ovs-ofctl diff-flows` against the wanted flows), change only on a
 * difference, print "changed" then, and `changed_when` reads that. The flows of a host are one
 * task: the wanted table on stdin, `--bundle replace-flows` when it differs.
 *
 * Standalone, on a running lab: node dist/bench/baselines/ansible.js N  (runs, re-runs, tears down)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { readInventory, type Inventory } from '../../lab/inventory';
import { mustRun, run } from '../lib/common';
import { BASELINE_COOKIE, OVERLAY_BRIDGE, PATCH_OFPORT, PATCH_OVERLAY, PATCH_PHYSICAL, PHYSICAL_BRIDGE, PROTOCOLS, STATIC_RULE, bfdSettings, desiredState, planFor, type HostState } from '../lib/tree';
import { teardownOverlay } from './plain-ssh';

const OVS = 'openvswitch.openvswitch';
/** A shell task changed something only when it said so (it prints "changed" or "unchanged"). */
const CHANGED = "'changed' in out.stdout_lines";

/** Why Ansible cannot run here, or undefined when it can. */
export async function ansibleMissing(): Promise<string | undefined> {
  const r = await run(['ansible-playbook', '--version']).catch(() => undefined);
  if (!r || r.code !== 0) return 'ansible-playbook is not installed (apt-get install -y --no-install-recommends ansible)';
  const c = await run(['ansible-doc', '-t', 'module', '--list', OVS]).catch(() => undefined);
  if (!c || c.code !== 0 || !/openvswitch_port/.test(c.stdout)) return `the ${OVS} collection is missing (Debian's ansible package ships it)`;
  return undefined;
}

export function ansibleVersion(): Promise<string> {
  return run(['ansible-playbook', '--version']).then((r) => r.stdout.split('\n')[0]?.trim() ?? '?');
}

export function playbook(): unknown[] {
  return [
    {
      name: 'VPM overlay (baseline)',
      hosts: 'all',
      gather_facts: false,
      tasks: [
        {
          name: 'overlay bridge',
          [`${OVS}.openvswitch_bridge`]: { bridge: OVERLAY_BRIDGE, fail_mode: 'secure', set: `bridge ${OVERLAY_BRIDGE} datapath_type=netdev protocols=${PROTOCOLS}` },
        },
        {
          name: 'patch port on the overlay bridge',
          [`${OVS}.openvswitch_port`]: { bridge: OVERLAY_BRIDGE, port: PATCH_OVERLAY, set: [`Interface ${PATCH_OVERLAY} type=patch options:peer=${PATCH_PHYSICAL} ofport_request=${PATCH_OFPORT}`] },
        },
        {
          name: 'patch port on the physical bridge',
          [`${OVS}.openvswitch_port`]: { bridge: PHYSICAL_BRIDGE, port: PATCH_PHYSICAL, set: [`Interface ${PATCH_PHYSICAL} type=patch options:peer=${PATCH_OVERLAY}`] },
        },
        {
          name: "br0's rule: from the patch to the NIC",
          'ansible.builtin.shell': `if ovs-ofctl dump-flows ${PHYSICAL_BRIDGE} cookie=${BASELINE_COOKIE}/-1 | grep -q priority=1000; then echo unchanged; else ovs-ofctl add-flow ${PHYSICAL_BRIDGE} '${STATIC_RULE}' && echo changed; fi`,
          register: 'out',
          changed_when: CHANGED,
        },
        {
          name: 'internal ports (the source port at the root)',
          [`${OVS}.openvswitch_port`]: { bridge: OVERLAY_BRIDGE, port: '{{ item.name }}', set: ['Interface {{ item.name }} type=internal ofport_request={{ item.ofport }}'] },
          loop: '{{ internal_ports }}',
        },
        {
          name: 'GRE ports',
          // `bfd`: the port's bfd:key=value settings (bfdSettings), the same as VPM's; the
          // module applies `set` with the add-port only, so a re-run reports the port ok.
          [`${OVS}.openvswitch_port`]: { bridge: OVERLAY_BRIDGE, port: '{{ item.name }}', set: ['Interface {{ item.name }} type=gre options:remote_ip={{ item.remoteIp }} ofport_request={{ item.ofport }} {{ item.bfd }}'] },
          loop: '{{ gre_ports }}',
        },
        {
          name: 'tunnel neighbour entries',
          'ansible.builtin.shell': `if ovs-appctl tnl/neigh/show | awk -v ip='{{ item.ip }}' -v mac='{{ item.mac }}' '$1 == ip && $2 == mac { f = 1 } END { exit !f }'; then echo unchanged; else ovs-appctl tnl/neigh/set ${PHYSICAL_BRIDGE} '{{ item.ip }}' '{{ item.mac }}' >/dev/null && echo changed; fi`,
          loop: '{{ neighbours }}',
          register: 'out',
          changed_when: CHANGED,
        },
        {
          name: 'stream flows of the host (one table, replaced only when it differs)',
          'ansible.builtin.shell': {
            cmd: `set -e; f=$(mktemp); cat > "$f"; if [ -z "$(ovs-ofctl -O OpenFlow14 diff-flows ${OVERLAY_BRIDGE} "$f")" ]; then echo unchanged; else ovs-ofctl -O OpenFlow14 --bundle replace-flows ${OVERLAY_BRIDGE} "$f" && echo changed; fi; rm -f "$f"`,
            stdin: "{{ flows | join('\\n') }}",
          },
          register: 'out',
          changed_when: CHANGED,
        },
      ],
    },
  ];
}

/** Module runs per host (one remote Python run each): bridge, 2 patch ports, br0's rule, ports, neighbours, the flows. */
export function tasksPerHost(h: HostState): number {
  return 5 + h.internalPorts.length + h.grePorts.length + h.neighbours.length;
}

/** A host's GRE ports as the playbook's loop reads them: `bfd` is the settings text (`bfd:enable=true bfd:min_tx=10 bfd:min_rx=10`, empty without BFD). */
export function greVars(h: HostState): { name: string; remoteIp: string; ofport: number; bfd: string }[] {
  return h.grePorts.map((g) => ({ name: g.name, remoteIp: g.remoteIp, ofport: g.ofport, bfd: bfdSettings(g.bfd).join(' ') }));
}

export interface AnsibleProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Writes ansible.cfg, inventory.yml and site.yml into a fresh directory. */
export function writeProject(inventory: Inventory, state: readonly HostState[], parent: string): AnsibleProject {
  const dir = fs.mkdtempSync(path.join(parent, 'ansible-'));
  const cp = path.join(dir, 'cp');
  fs.mkdirSync(cp);
  const hv = (name: string) => inventory.hypervisors.find((h) => h.name === name)!;
  const inv = {
    all: {
      vars: {
        ansible_user: inventory.hypervisors[0].user,
        ansible_ssh_private_key_file: inventory.privateKeyPath,
        ansible_ssh_common_args: `-F /dev/null -o UserKnownHostsFile=${inventory.knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
        ansible_python_interpreter: '/usr/bin/python3',
      },
      hosts: Object.fromEntries(
        state.map((h) => [
          h.host,
          { ansible_host: hv(h.host).ip, ansible_port: hv(h.host).sshPort, internal_ports: h.internalPorts, gre_ports: greVars(h), neighbours: h.neighbours, flows: h.flows },
        ]),
      ),
    },
  };
  fs.writeFileSync(path.join(dir, 'inventory.yml'), stringify(inv));
  fs.writeFileSync(path.join(dir, 'site.yml'), stringify(playbook()));
  fs.writeFileSync(
    path.join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      `forks = ${Math.max(5, state.length)}`,
      'host_key_checking = True',
      'retry_files_enabled = False',
      'interpreter_python = /usr/bin/python3',
      `local_tmp = ${path.join(dir, 'tmp')}`,
      '',
      '[ssh_connection]',
      'pipelining = True',
      `control_path_dir = ${cp}`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_HOME: path.join(dir, 'home') };
  return { dir, env };
}

export interface AnsibleRun {
  readonly wallMs: number;
  /** Module runs (task x item x host). */
  readonly tasks: number;
  readonly changed: number;
  readonly ok: number;
  readonly failed: number;
  readonly tasksPerHost: Record<string, number>;
}

export async function runAnsible(project: AnsibleProject, inventory: Inventory, state: readonly HostState[]): Promise<AnsibleRun> {
  const r = await run(['ip', 'netns', 'exec', inventory.underlay.netns, 'ansible-playbook', '-i', 'inventory.yml', 'site.yml'], { cwd: project.dir, env: project.env, timeoutMs: 900_000 });
  fs.writeFileSync(path.join(project.dir, `run-${Date.now()}.log`), r.stdout + r.stderr);
  let ok = 0;
  let changed = 0;
  let failed = 0;
  for (const m of r.stdout.matchAll(/^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    ok += Number(m[1]);
    changed += Number(m[2]);
    failed += Number(m[3]) + Number(m[4]);
  }
  if (r.code !== 0 || failed) throw new Error(`ansible-playbook exited ${r.code} (${failed} failed/unreachable)\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  // The recap counts a looped task once per host; count module runs from the plan instead.
  const perHost = Object.fromEntries(state.map((h) => [h.host, tasksPerHost(h)]));
  // Items that reported changed: count "changed: [h] => (item=" lines plus plain "changed: [h]".
  const changedRuns = (r.stdout.match(/^changed: \[/gm) ?? []).length;
  return { wallMs: r.ms, tasks: Object.values(perHost).reduce((a, b) => a + b, 0), changed: changedRuns || changed, ok, failed, tasksPerHost: perHost };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? '4');
  const missing = await ansibleMissing();
  if (missing) throw new Error(missing);
  const inventory = readInventory();
  const state = desiredState(planFor(n, inventory), inventory);
  const project = writeProject(inventory, state, fs.mkdtempSync('/tmp/vpm-ansible-'));
  const first = await runAnsible(project, inventory, state);
  const again = await runAnsible(project, inventory, state);
  console.log(JSON.stringify({ n, first, again, dir: project.dir }, null, 2));
  await teardownOverlay(inventory, state.map((s) => s.host));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
