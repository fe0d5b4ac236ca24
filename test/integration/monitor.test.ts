/**
 * Monitoring on the real lab: the `lab` topology (h1 root, h2 relay, h3/h4 leaves, leaf VM on
 * h3) deployed with `npm run pulumi -- up` on a stack of this test, then the real CLI:
 *   - `vpm status --json`: every host online, the path intact, the VM running on h3;
 *   - per-hop counters grow while a stream runs from the root's src0;
 *   - `vpm preview --markdown` after moving the VM to h4 names the migration and both paths;
 *   - `vpm watch`: a callback server of the test receives the libvirt events of a domain
 *     destroyed and started by hand (and OVSDB events); with --react the stack converges
 *     (up --refresh starts the VM again);
 *   - with one hypervisor's sshd stopped (SIGSTOP: connects hang) and another's killed
 *     (connects refused), status reports both offline within the timeout instead of hanging.
 * Uses the lab named by VPM_LAB_NS_PREFIX / VPM_LAB_DIR (defaults: vpmlab-, .lab).
 * Needs root, the lab tools with libvirt, the Pulumi CLI and a fresh `npx tsc -p tsconfig.json`.
 */
import { runPulumi } from '../support/pulumi-cli';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabError, LabPaths, labDown, labUp, type Inventory } from '../../lab';
import { LabHosts, requireLabPrerequisites } from '../support/lab';
import { PROJECT_ROOT, requireBuilt, requireFresh } from '../support/serialised-provider';
import { Stack } from '../support/pulumi-stack';
import { UdpSender, killAll, type NetnsScript } from '../../lab/stream/measure';
import { ok } from '../support/expect';

const STACK = `mon-it-${process.pid}`;
const VPM = path.join(PROJECT_ROOT, 'dist', 'cli', 'vpm.js');
const PULUMI_CLI = path.join(PROJECT_ROOT, '.tools', 'project-bin', 'pulumi');
const SOURCE_IP = '10.99.0.1';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PROJECT_ROOT, env: process.env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
    });
  });
}

/** Every Pulumi command through the one test runner (test/support/pulumi-cli.ts); plain commands with a 60 s limit. */
const pulumi = (...args: string[]) => runPulumi(args);
const pulumiCli = (...args: string[]) => runPulumi(args, { timeoutMs: 60_000 });
const vpm = (...args: string[]) => run('node', [VPM, ...args], 60_000);

async function status(...extra: string[]): Promise<any> {
  const r = await vpm('status', '--stack', STACK, '--json', ...extra);
  try {
    return { ...JSON.parse(r.stdout), exitCode: r.code, ms: r.ms };
  } catch {
    throw new Error(`vpm status printed no JSON (exit ${r.code})\n${r.stdout}\n${r.stderr}`);
  }
}


/** The backend's leftovers of this run's unique stack and its config file, after `stack rm`. */
const forgetStackFiles = () => new Stack(STACK).forgetFiles();

/** labUp with libvirt; waits while someone else's lab (same prefix) is running. */
async function acquireLibvirtLab(): Promise<Inventory> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      return await labUp({ hypervisors: 4, receivers: 2, libvirt: true, log: () => undefined });
    } catch (e) {
      if (!(e instanceof LabError) || !/already running|namespaces exist without an inventory/.test(e.message) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20_000));
    }
  }
}

/** A callback receiver: records every event POSTed to it, answering after `delayMs`. */
async function callbackServer(delayMs: number): Promise<{ url: string; events: any[]; times: Map<string, number>; close(): Promise<void> }> {
  const events: any[] = [];
  const times = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      setTimeout(() => {
        try {
          const e = JSON.parse(body);
          events.push(e);
          if (e.type === 'domain.lifecycle' && !times.has(e.event)) times.set(e.event, Date.now());
        } catch {
          /* not JSON: not ours */
        }
        res.end('ok');
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/events`,
    events,
    times,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

jest.setTimeout(120_000);

describe(`vpm status / preview / watch on the lab (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let weStartedIt = false;
  let stackCreated = false;
  const scripts: NetnsScript[] = [];
  const children: ChildProcess[] = [];
  /** virsh against a hypervisor's own libvirtd (lab exec does not set LIBVIRT_DEFAULT_URI). */
  const virsh = (h: string, ...args: string[]) => lab.must(h, ['virsh', '-c', inventory.hypervisors.find((x) => x.name === h)!.libvirtUri!, ...args]);
  const netns = (name: string) => [...inventory.hypervisors, ...inventory.receivers].find((x) => x.name === name)!.netns;

  beforeAll(async () => {
    requireLabPrerequisites({ ethtool: 'ethtool', virsh: 'libvirt-clients' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    const built: Array<[string, string]> = [
      ['cli/vpm.ts', 'dist/cli/vpm.js'],
      ...['cli', 'commands', 'status', 'model', 'parse', 'cpu', 'preview', 'pulumi', 'stack'].map((m): [string, string] => [`monitor/${m}.ts`, `dist/monitor/${m}.js`]),
      ...['watch', 'virsh-events', 'ovsdb-events', 'dispatch', 'ssh-stream'].map((m): [string, string] => [`monitor/events/${m}.ts`, `dist/monitor/events/${m}.js`]),
      ['stacks/main.ts', 'dist/stacks/main.js'],
    ];
    requireBuilt(...built.map(([, out]) => out));
    requireFresh(built);
    inventory = await acquireLibvirtLab();
    weStartedIt = true;
    lab = new LabHosts(inventory);
    stackCreated = true;
    ok(await pulumiCli('stack', 'init', STACK), 'stack init');
    // Thresholds that no real figure meets exactly, to see they come from the stack config.
    ok(
      await pulumiCli('config', 'set-all', '--stack', STACK, '--plaintext', 'vpm:topology=stacks/topologies/lab.yaml', '--plaintext', 'vpm:cpuWarn=0', '--plaintext', 'vpm:cpuCrit=100'),
      'config set-all',
    );
    ok(await pulumi('up', '--stack', STACK), 'pulumi up');
  }, 300_000);

  afterEach(() => {
    killAll(scripts.splice(0));
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  afterAll(async () => {
    try {
      // The lab goes away with everything on it: forgetting the stack is enough.
      if (stackCreated && (await pulumiCli('stack', 'rm', STACK, '--yes', '--force')).code === 0) forgetStackFiles();
    } finally {
      if (weStartedIt) await labDown({ log: () => undefined });
    }
  }, 120_000);

  test('status --json after up: every host online, CPU by the stack thresholds, the path intact, the VM on h3', async () => {
    const r = await status();
    expect(r.exitCode).toBe(0);
    expect(r).toMatchObject({ version: 1, stack: STACK, root: 'h1', thresholds: { warn: 0, crit: 100 } });
    expect(r.summary).toMatchObject({ hosts: 4, online: 4, offline: 0, paths: 1, pathsOk: 1 });
    expect(r.hosts.map((h: any) => [h.name, h.online, h.roles])).toEqual([
      ['h1', true, ['root']],
      ['h2', true, ['relay']],
      ['h3', true, ['leaf']],
      ['h4', true, ['leaf']],
    ]);
    for (const h of r.hosts) {
      expect(h.cpu.percent).toEqual(expect.any(Number));
      // vpm:cpuWarn=0, vpm:cpuCrit=100: every figure below 100 % is "warn".
      expect(h.cpu.level).toBe(h.cpu.percent >= 100 ? 'crit' : 'warn');
      expect(h.errors).toEqual([]);
    }
    expect(r.hosts.find((h: any) => h.name === 'h2').tunnels.map((t: any) => [t.name, t.linkState])).toEqual([
      ['gre-h1', 'up'],
      ['gre-h3', 'up'],
      ['gre-h4', 'up'],
    ]);
    expect(r.paths[0]).toMatchObject({ name: 'h3-5004@h3', nodes: ['h1', 'h2', 'h3'], ok: true });
    expect(r.paths[0].cookie).toMatch(/^0x56[0-9a-f]{14}$/);
    expect(r.vms).toEqual([expect.objectContaining({ name: 'leafvm', host: 'h3', liveHost: 'h3', state: 'running' })]);
    expect(r.hosts.find((h: any) => h.name === 'h3').vms).toEqual([{ name: 'leafvm', state: 'running', managed: true }]);
  });

  test('status --watch --json: per-hop packet counters grow while a stream runs', async () => {
    await lab.must('h1', ['ip', 'addr', 'replace', `${SOURCE_IP}/16`, 'dev', 'src0']);
    await lab.must('h1', ['ip', 'link', 'set', 'src0', 'up']);
    await lab.must('h1', ['ethtool', '-K', 'src0', 'tx', 'off']);
    const watch = spawn('node', [VPM, 'status', '--stack', STACK, '--json', '--watch', '--interval', '1'], { cwd: PROJECT_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(watch);
    const reports: any[] = [];
    let buf = '';
    watch.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        reports.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    const next = async (after: number) => {
      const deadline = Date.now() + 20_000;
      while (reports.length <= after) {
        if (Date.now() > deadline) throw new Error(`no status report after #${after} within 20 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return reports[after];
    };
    const before = await next(0);
    const s = await UdpSender.start(netns('h1'), { ip: '10.99.255.255', port: 5004, count: 0, intervalUs: 2000, bindIp: SOURCE_IP });
    scripts.push(s);
    const n = reports.length;
    await next(n); // a report taken while sending
    const during = await next(n + 1);
    const later = await next(n + 2);
    await s.halt();
    watch.kill('SIGINT');
    const packets = (r: any) => r.paths[0].hops.map((h: any) => h.packets);
    for (let i = 0; i < 3; i++) {
      expect(packets(during)[i]).toBeGreaterThan(packets(before)[i]);
      expect(packets(later)[i]).toBeGreaterThan(packets(during)[i]);
    }
    // The leaf sends on what came back from the VM: delivered follows the stream too.
    expect(later.paths[0].delivered).toBeGreaterThan(before.paths[0].delivered);
    // --watch gives rates from one report to the next (~500 packets/s sent).
    expect(later.paths[0].hops[0].pps).toBeGreaterThan(50);
  });

  test('preview --markdown after moving the VM to h4 names the migration, the new and the old path', async () => {
    const out = path.join(os.tmpdir(), `vpm-preview-${process.pid}.md`);
    ok(await pulumiCli('config', 'set', '--path', 'vpm:placement.leafvm', 'h4', '--stack', STACK), 'config set placement');
    try {
      const project = fs.readFileSync(path.join(PROJECT_ROOT, 'Pulumi.yaml'), 'utf8');
      ok(await vpm('preview', '--stack', STACK, '--markdown', '--out', out), 'vpm preview');
      // The Automation API workspace reads Pulumi.yaml and never rewrites it (its config
      // declarations and backend stay).
      expect(fs.readFileSync(path.join(PROJECT_ROOT, 'Pulumi.yaml'), 'utf8')).toBe(project);
      const md = fs.readFileSync(out, 'utf8');
      expect(md).toContain('**1 to create, 1 to update, 1 to delete**');
      expect(md).toContain('| leafvm | h3 | h4 | `h3-5004@h4` | `h3-5004@h3` |');
      expect(md).toMatch(/#### h3 \(leaf\)[\s\S]*VM leafvm migrates away to h4/);
      expect(md).toMatch(/#### h4 \(leaf\)[\s\S]*\+ create \| FlowPath `tree-path-h3-5004@h4`/);
      expect(md).toMatch(/```diff\n\+ udp,in_port=\d+,tp_dst=5004 .*# h3-5004@h4\n- udp,in_port=\d+,tp_dst=5004 .*# h3-5004@h3/);
      expect(md).toContain('node h2 is a single point of failure');
      // A preview changes nothing: the VM is still on h3.
      expect((await virsh('h3', 'list', '--name')).split('\n')).toContain('leafvm');
    } finally {
      await pulumiCli('config', 'rm', '--path', 'vpm:placement.leafvm', '--stack', STACK);
      fs.rmSync(out, { force: true });
    }
  });

  test('vpm watch --react: callbacks get the events of a VM paused and destroyed by hand; up --refresh starts it again', async () => {
    // Three callbacks: one that answers at once, one that takes 2 s per event, one nobody listens on.
    const servers = await Promise.all([callbackServer(0), callbackServer(2000)]);
    const [fast, slow] = servers;
    const dead = 'http://127.0.0.1:9/nobody';
    const watch = spawn('node', [VPM, 'watch', '--stack', STACK, '--callback', slow!.url, '--callback', dead, '--callback', fast!.url, '--react', '--quiet'], {
      cwd: PROJECT_ROOT,
      env: process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(watch);
    let err = '';
    let interrupted = false;
    watch.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor('vpm watch to be ready', 30_000, () => (/vpm watch: ready: 8\/8/.test(err) ? true : undefined), () => err);
      const lifecycle = (e: any, ev: string) => e.type === 'domain.lifecycle' && e.domain === 'leafvm' && e.event === ev && e.host === 'h3';

      await virsh('h3', 'suspend', 'leafvm');
      await virsh('h3', 'resume', 'leafvm');
      const resumed = await waitFor('Resumed at the fast callback', 15_000, () => fast!.events.find((e) => lifecycle(e, 'Resumed')), () => err);
      expect(resumed).toMatchObject({ version: 1, stack: STACK, source: 'libvirt', nodes: ['h3'], managed: true, detail: 'Unpaused' });
      expect(resumed.id).toEqual(expect.any(String));
      expect(Date.parse(resumed.at)).toBeGreaterThan(0);

      const destroyedAt = Date.now();
      await virsh('h3', 'destroy', 'leafvm');
      await waitFor('Stopped at the fast callback', 15_000, () => fast!.events.find((e) => lifecycle(e, 'Stopped')), () => err);
      // Neither the slow callback (2 s per event, several events queued) nor the dead one held it up.
      expect(fast!.events.find((e) => lifecycle(e, 'Stopped')).receivedAt).toBeDefined();
      expect(fast!.times.get('Stopped')! - destroyedAt).toBeLessThan(8000);
      // The VM's port went down on OVSDB too.
      await waitFor('the tap going down', 10_000, () => fast!.events.find((e) => e.type === 'interface.modify' && e.interface === 'vt-leafvm' && e.host === 'h3' && e.changes?.link_state?.new === 'down'), () => err);

      // --react: up --refresh sees the VM stopped and starts it again.
      const started = await waitFor('reaction.started', 15_000, () => fast!.events.find((e) => e.type === 'reaction.started'), () => err);
      expect(started.trigger).toContain('h3:domain.lifecycle:leafvm:Stopped');
      const done = await waitFor('reaction.finished', 80_000, () => fast!.events.find((e) => e.type === 'reaction.finished' || e.type === 'reaction.failed'), () => err);
      // Stop now: the VM's own Started event would schedule one more refresh + up (which would find nothing to do).
      watch.kill('SIGINT');
      interrupted = true;
      expect(done.type).toBe('reaction.finished');
      expect(done.changes.update).toBeGreaterThanOrEqual(1);
      expect(fast!.events.find((e) => lifecycle(e, 'Started'))).toBeDefined(); // delivered in order, before reaction.finished
      expect((await virsh('h3', 'domstate', 'leafvm')).trim()).toBe('running');
    } finally {
      if (watch.exitCode === null && !interrupted) watch.kill('SIGINT');
      await new Promise((r) => {
        if (watch.exitCode !== null) return r(undefined);
        const t = setTimeout(() => (watch.kill('SIGKILL'), r(undefined)), 30_000);
        watch.once('exit', () => (clearTimeout(t), r(undefined)));
      });
      await Promise.all(servers.map((s) => s.close()));
    }
    // The slow callback got the same events, in order (it is not starved, only late).
    const seqs = slow!.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(slow!.events.length).toBeGreaterThan(0);
    // No remote watcher outlives `vpm watch` (their lifeline ends them).
    const left = await waitFor('remote watchers to end', 10_000, async () => {
      const ps = await lab.must('h3', ['ps', '-eo', 'args']);
      return /virsh event --loop|ovsdb-client monitor/.test(ps) ? undefined : true;
    });
    expect(left).toBe(true);
  });

  test('hypervisors whose sshd hangs (h4) or is gone (h1) show offline within the timeout; the others answer in full', async () => {
    const pidOf = (h: string) => Number(fs.readFileSync(path.join(LabPaths.default().sshDir(h), 'sshd.pid'), 'utf8').trim());
    const hung = pidOf('h4');
    const gone = pidOf('h1');
    expect(Math.min(hung, gone)).toBeGreaterThan(1);
    process.kill(hung, 'SIGSTOP'); // TCP connects (the kernel accepts), SSH never answers
    process.kill(gone, 'SIGKILL'); // connects are refused
    try {
      const r = await status('--timeout', '3');
      expect(r.exitCode).toBe(1);
      expect(r.summary).toMatchObject({ online: 2, offline: 2 });
      const h4 = r.hosts.find((h: any) => h.name === 'h4');
      expect(h4).toMatchObject({ online: false, cpu: { percent: null, level: 'unknown' } });
      expect(h4.error).toMatch(/no answer within|timed out/i);
      expect(r.hosts.find((h: any) => h.name === 'h1').error).toMatch(/refused|cannot connect/i);
      // The collection is bounded by --timeout (3 s) + 1 s slack, whatever the hosts do; the whole
      // command (stack read, exit) stays far below what unbounded connects would take (15 s x 5 attempts).
      expect(r.durationMs).toBeLessThan(5000);
      expect(r.ms).toBeLessThan(30_000);
      // The other hosts still answer in full; the path through h1 is unreachable there.
      for (const name of ['h2', 'h3']) expect(r.hosts.find((h: any) => h.name === name)).toMatchObject({ online: true, errors: [] });
      expect(r.paths[0].hops.map((h: any) => h.state)).toEqual(['unreachable', 'ok', 'ok']);
    } finally {
      process.kill(hung, 'SIGKILL'); // works on a stopped process; lab down copes with dead sshds
    }
  });
});

