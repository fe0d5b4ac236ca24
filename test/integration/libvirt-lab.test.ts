/**
 * libvirt on the lab, for real: two hypervisor namespaces (vpmvirt-a, vpmvirt-b) joined by a
 * veth (10.251.0.1/24, 10.251.0.2/24; nothing in the root namespace), one libvirtd in each
 * (lab/libvirt), the tiny guest booted in A on a pre-created unmanaged tap, live-migrated to B
 * and then back and forth five more times under ping traffic. After every migration the guest
 * must run on the destination only, answer on the network from there (its relay's query
 * port), keep printing heartbeats, and its console must show no oops / virtio damage.
 *
 * Never skips: a missing tool fails with "run npm run setup".
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sh } from '../../lab/sh';
import {
  buildGuest,
  consoleLogPath,
  defineDomain,
  domainState,
  domainXml,
  GuestArtifacts,
  guestCmdline,
  guestTrouble,
  hostUuidFor,
  jobInfo,
  lastHeartbeat,
  LibvirtdHandle,
  migrate,
  MigrationResult,
  startDomain,
  startLibvirtd,
  stopLibvirtd,
  virsh,
  waitForLine,
} from '../../lab/libvirt';

const NS_A = 'vpmvirt-a';
const NS_B = 'vpmvirt-b';
const IP_A = '10.251.0.1';
const IP_B = '10.251.0.2';
const STATE = '/tmp/vpmvirt-test';
const DIR_A = path.join(STATE, 'a');
const DIR_B = path.join(STATE, 'b');
const TAP = 'vpmvt0';
const DOM = 'vpmvirt-guest';
const GUEST_IP = '10.99.0.2';
const TAP_IP = '10.99.0.1';
const QUERY_PORT = 5099;

const TOOLS: Array<[string, string]> = [
  ['ip', 'iproute2'],
  ['virsh', 'libvirt-clients'],
  ['libvirtd', 'libvirt-daemon-system'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['unshare', 'util-linux'],
  ['ping', 'iputils-ping'],
  ['gcc', 'gcc'],
  ['cpio', 'cpio'],
];

function requireTools(): void {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  const missing = TOOLS.filter(([t]) => !dirs.some((d) => d && fs.existsSync(path.join(d, t))));
  if (missing.length) {
    throw new Error(`missing tools: ${missing.map(([t, p]) => `${t} (Debian ${p})`).join(', ')}: run npm run setup`);
  }
  if (!fs.existsSync('/bin/busybox')) throw new Error('missing /bin/busybox (Debian busybox-static): run npm run setup');
  if (process.getuid?.() !== 0) throw new Error('this test creates network namespaces and daemons: run it as root');
}

async function ipq(args: string[], okAny = false): Promise<void> {
  await sh(['ip', ...args], okAny ? { okCodes: 'any' } : {});
}

async function cleanup(): Promise<void> {
  for (const dir of [DIR_A, DIR_B]) {
    if (fs.existsSync(dir)) await stopLibvirtd({ dir }, { destroyDomains: true });
  }
  for (const ns of [NS_A, NS_B]) await ipq(['netns', 'del', ns], true);
  fs.rmSync(STATE, { recursive: true, force: true });
}

async function makeNamespaces(): Promise<void> {
  await ipq(['netns', 'add', NS_A]);
  await ipq(['netns', 'add', NS_B]);
  await ipq(['-n', NS_A, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_B]);
  for (const [ns, addr] of [
    [NS_A, IP_A],
    [NS_B, IP_B],
  ] as const) {
    await ipq(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ipq(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    await ipq(['-n', ns, 'link', 'set', 'eth0', 'up']);
    // The VM's port exists before the VM arrives: same tap name on both hypervisors.
    await ipq(['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    await ipq(['-n', ns, 'addr', 'add', `${TAP_IP}/24`, 'dev', TAP]);
    await ipq(['-n', ns, 'link', 'set', TAP, 'up']);
  }
}

/** Asks the guest's relay for its counters from inside `ns` (proves the guest's network runs there). */
async function queryRelay(guest: GuestArtifacts, ns: string, timeoutMs = 5000): Promise<string> {
  const r = await sh(['ip', 'netns', 'exec', ns, guest.udprelay, '-Q', `${GUEST_IP}:${QUERY_PORT}`, '-t', String(timeoutMs)], {
    timeoutMs: timeoutMs + 5000,
    where: ns,
  });
  return r.stdout.trim();
}

/**
 * Pings the guest every 2 ms from `ns` until stopped: traffic through virtio while the guest
 * migrates (the QEMU 7.2 TCG bug corrupted memory mostly under traffic). Returns ping's summary.
 */
function pingTraffic(ns: string): { stop: () => Promise<string> } {
  // `ip netns exec` execs ping in place, so the child's PID is ping's; SIGINT makes it summarise.
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-q', '-i', '0.002', '-w', '30', GUEST_IP], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const done = new Promise<string>((resolve) => {
    p.on('close', () => resolve((/\d+ packets transmitted, \d+ received/.exec(out) ?? ['no summary'])[0]));
    p.on('error', (e) => resolve(`ping failed: ${e.message}`));
  });
  return {
    stop: () => {
      p.kill('SIGINT');
      return done;
    },
  };
}

function fmtJob(r: MigrationResult): string {
  const j = r.job;
  const mib = j.dataProcessedBytes !== undefined ? (j.dataProcessedBytes / 1048576).toFixed(1) : '?';
  return `wall ${r.wallMs} ms, libvirt total ${j.timeElapsedMs ?? '?'} ms, downtime ${j.downtimeMs ?? '?'} ms, setup ${j.setupTimeMs ?? '?'} ms, ${mib} MiB, ${j.iterations ?? '?'} iterations`;
}

describe('libvirt lab: one libvirtd per namespace, tiny guest, live migration', () => {
  let guest: GuestArtifacts;
  let a: LibvirtdHandle;
  let b: LibvirtdHandle;
  let consoleA: string;
  let consoleB: string;
  const report: string[] = [];

  beforeAll(async () => {
    requireTools();
    guest = await buildGuest();
    await cleanup();
    await makeNamespaces();
    const t0 = Date.now();
    [a, b] = await Promise.all([
      startLibvirtd({ name: 'a', netns: NS_A, dir: DIR_A, ip: IP_A, hostUuid: hostUuidFor('vpmvirt-a'), subreaper: guest.subreaper }),
      startLibvirtd({ name: 'b', netns: NS_B, dir: DIR_B, ip: IP_B, hostUuid: hostUuidFor('vpmvirt-b'), subreaper: guest.subreaper }),
    ]);
    report.push(`libvirtd start: a ${a.startMs} ms, b ${b.startMs} ms (both in ${Date.now() - t0} ms)`);
    consoleA = consoleLogPath(a, DOM);
    consoleB = consoleLogPath(b, DOM);
  }, 90_000);

  afterAll(async () => {
    if (report.length) console.log(`libvirt lab figures:\n  ${report.join('\n  ')}`);
    await cleanup();
  }, 60_000);

  test('the daemons are separate hosts with their own TCP listener', async () => {
    expect(a.pid).not.toBe(b.pid);
    const capsA = (await virsh(a, ['capabilities'])).stdout;
    const capsB = (await virsh(b, ['capabilities'])).stdout;
    const uuid = (x: string) => /<uuid>([^<]+)<\/uuid>/.exec(x)?.[1];
    expect(uuid(capsA)).toBe(hostUuidFor('vpmvirt-a'));
    expect(uuid(capsB)).toBe(hostUuidFor('vpmvirt-b'));
    const ss = await sh(['ip', 'netns', 'exec', NS_B, 'ss', '-Hltn']);
    expect(ss.stdout).toContain(`${IP_B}:16509`);
    // Private mount namespaces: libvirtd sees its own dirs over /etc/libvirt..., we do not.
    const mountsA = fs.readFileSync(`/proc/${a.pid}/mountinfo`, 'utf8');
    expect(mountsA).toMatch(/ \/etc\/libvirt /);
    expect(mountsA).toMatch(/ \/run\/libvirt /);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(DIR_A);
    expect(fs.existsSync(a.socketPath) && fs.existsSync(b.socketPath)).toBe(true);
  });

  test('boots in A, live-migrates to B, then back and forth five times', async () => {
    const xml = domainXml({
      name: DOM,
      memoryMiB: 96,
      vcpus: 1,
      kernel: guest.kernel,
      initrd: guest.initrd,
      emulator: guest.emulator,
      cmdline: guestCmdline({
        ip: `${GUEST_IP}/24`,
        gw: TAP_IP,
        relay: { listenPort: 5000, toIp: TAP_IP, toPort: 5001 },
        queryPort: QUERY_PORT,
        heartbeatSec: 1,
        hostname: 'vpmvirt',
      }),
      interface: { type: 'ethernet', tap: TAP, mac: '52:54:00:56:50:02' },
    });
    await defineDomain(a, xml);
    const t0 = Date.now();
    await startDomain(a, DOM);
    const startMs = Date.now() - t0;
    const netUp = await waitForLine(consoleA, /VPM-GUEST-NET-UP/, { timeoutMs: 60_000, pollMs: 25 });
    await waitForLine(consoleA, /VPM-GUEST-READY/, { timeoutMs: 10_000, pollMs: 25 });
    report.push(`boot (${guest.kernelKind}): virsh start ${startMs} ms, network up ${startMs + netUp.atMs} ms after start [${netUp.line.trim()}]`);
    expect(await queryRelay(guest, NS_A)).toMatch(/^rx=\d+ tx=\d+ err=\d+ bytes=\d+$/);

    const hosts = { a, b };
    const nsOf = { a: NS_A, b: NS_B };
    let here: 'a' | 'b' = 'a';
    const plans: Array<{ mode: 'p2p' | 'direct'; maxDowntimeMs?: number }> = [
      { mode: 'p2p' },
      { mode: 'direct' },
      { mode: 'p2p' },
      { mode: 'p2p', maxDowntimeMs: 20 },
      { mode: 'direct', maxDowntimeMs: 20 },
      { mode: 'p2p', maxDowntimeMs: 20 },
    ];
    for (const [k, plan] of plans.entries()) {
      const there: 'a' | 'b' = here === 'a' ? 'b' : 'a';
      const from = hosts[here];
      const to = hosts[there];
      const hbBefore = lastHeartbeat(consoleA, consoleB);
      const traffic = pingTraffic(nsOf[here]);
      await new Promise((r) => setTimeout(r, 300)); // traffic flowing before the migration starts
      let result: MigrationResult;
      let ping: string;
      try {
        result = await migrate({ from, to, name: DOM, mode: plan.mode, maxDowntimeMs: plan.maxDowntimeMs });
      } finally {
        ping = await traffic.stop();
      }

      // Runs on the destination only; the source no longer has it.
      expect(await domainState(to, DOM)).toBe('running');
      expect(await domainState(from, DOM)).toBeUndefined();
      const dominfo = (await virsh(to, ['dominfo', DOM])).stdout;
      expect(dominfo).toMatch(/State:\s+running/);
      expect(dominfo).toMatch(/Persistent:\s+yes/);
      // The unmanaged tap stays on the source (the port outlives the VM's presence).
      await sh(['ip', '-n', nsOf[here], 'link', 'show', TAP], { where: nsOf[here] });

      // Alive: answers on the network from the destination, heartbeats go on, no damage.
      expect(await queryRelay(guest, nsOf[there])).toMatch(/^rx=\d+ tx=\d+/);
      const hbDeadline = Date.now() + 5000;
      while (lastHeartbeat(consoleA, consoleB) <= hbBefore && Date.now() < hbDeadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(lastHeartbeat(consoleA, consoleB)).toBeGreaterThan(hbBefore);
      expect(guestTrouble(consoleA, consoleB)).toEqual([]);
      expect(result.job.jobType).toBe('Completed');
      expect(result.job.downtimeMs).toBeGreaterThanOrEqual(0);

      report.push(
        `migration ${k + 1} ${here}->${there} (${plan.mode}${plan.maxDowntimeMs ? `, max downtime ${plan.maxDowntimeMs} ms` : ''}): ${fmtJob(result)} (pings from ${here} during it: ${ping})`,
      );
      if (k === 0) {
        // migrate() read them with --keep-completed: they are still there.
        expect((await jobInfo(to, DOM, { completed: true })).downtimeMs).toBe(result.job.downtimeMs);
        report.push(`virsh domjobinfo --completed on ${there} after migration 1: ${JSON.stringify(result.job.raw)}`);
      }
      here = there;
    }
    expect(lastHeartbeat(consoleA, consoleB)).toBeGreaterThan(5);
  }, 150_000);
});
