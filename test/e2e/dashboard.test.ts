/**
 * `vpm dashboard` in a real browser: the `lab` topology deployed on a stack of this test, the
 * dashboard started by the CLI (port 0, 1 s interval), and Debian's headless Chromium driven
 * by playwright-core (no browser download). Checks: it binds 127.0.0.1 and refuses foreign
 * Host headers; the page draws every node of the tree with its role, the redundancy link
 * dashed, the path, the hosts and the VM; a per-hop counter increases while a stream runs
 * (live, over server-sent events); a migration under way (hosts replayed from a recorded
 * live migration, in a second dashboard) shows as a progress bar with the VM marked
 * migrating. A screenshot is saved to bench/results/dashboard.png.
 *
 * Uses the lab named by VPM_LAB_NS_PREFIX / VPM_LAB_DIR. Needs root, the lab tools with
 * libvirt, the Pulumi CLI, /usr/bin/chromium and a fresh `npx tsc -p tsconfig.json`.
 */
import { runPulumi } from '../support/pulumi-cli';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LabError, labDown, labUp, type Inventory } from '../../lab';
import { LabHosts, requireLabPrerequisites } from '../support/lab';
import { PROJECT_ROOT, requireBuilt, requireFresh } from '../support/serialised-provider';
import { Stack } from '../support/pulumi-stack';
import { UdpSender, killAll, type NetnsScript } from '../../lab/stream/measure';
import { RecordingRunner } from '../../providers/exec/recording';
import { buildModel } from '../../monitor/model';
import { stackOutputsOf } from '../../monitor/pulumi';
import { startDashboard } from '../../monitor/dashboard/server';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from '../../monitor/dashboard/page';
import { exampleTopologies, widestReport } from '../support/dashboard-report';
import type { StatusReport } from '../../monitor/status';
import { ok } from '../support/expect';

const STACK = `mon-e2e-${process.pid}`;
const VPM = path.join(PROJECT_ROOT, 'dist', 'cli', 'vpm.js');
const PULUMI_CLI = path.join(PROJECT_ROOT, '.tools', 'project-bin', 'pulumi');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(PROJECT_ROOT, 'bench', 'results', 'dashboard.png');
const SOURCE_IP = '10.99.0.1';
const PATH_NAME = 'h3-5004@h3';

/** Every Pulumi command through the one test runner (test/support/pulumi-cli.ts); plain commands with a 120 s limit. */
const pulumi = (...args: string[]) => runPulumi(args);
const pulumiCli = (...args: string[]) => runPulumi(args, { timeoutMs: 120_000 });


/** The backend's leftovers of this run's unique stack and its config file, after `stack rm`. */
const forgetStackFiles = () => new Stack(STACK).forgetFiles();

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

/** GET with a chosen Host header; resolves with the status code. */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

jest.setTimeout(120_000);

const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Every drawn element of the tree (labels, VM boxes, node circles) whose box leaves the tree
 * panel or the SVG (which clips it), as "<what>: <box> outside <panel>"; empty when all fit.
 */
async function treeOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const box = (e: Element) => e.getBoundingClientRect();
    const panel = box(document.querySelector('.tree-panel')!);
    const svg = box(document.getElementById('tree')!);
    const inside = (r: DOMRect, o: DOMRect) => r.left >= o.left - 0.5 && r.right <= o.right + 0.5 && r.top >= o.top - 0.5 && r.bottom <= o.bottom + 0.5;
    const fmt = (r: DOMRect) => `[${Math.round(r.left)},${Math.round(r.top)}..${Math.round(r.right)},${Math.round(r.bottom)}]`;
    const out: string[] = [];
    for (const e of Array.from(document.querySelectorAll('#tree text, #tree rect, #tree circle'))) {
      const r = box(e);
      if (r.width === 0 && r.height === 0) continue;
      if (!inside(r, svg) || !inside(r, panel)) out.push(`${e.tagName} "${e.textContent}": ${fmt(r)} outside svg ${fmt(svg)} / panel ${fmt(panel)}`);
    }
    return out;
  });
}

/** Serves the dashboard page with one fixed report (no hosts, no Pulumi, no event stream). */
async function servePage(report: StatusReport): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const send = (type: string, body: string) => res.writeHead(200, { 'content-type': type }).end(body);
    if (req.url === '/') return send('text/html; charset=utf-8', PAGE_HTML);
    if (req.url === '/app.css') return send('text/css; charset=utf-8', PAGE_CSS);
    if (req.url === '/app.js') return send('text/javascript; charset=utf-8', PAGE_JS);
    if (req.url === '/api/status') return send('application/json', JSON.stringify(report));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('dashboard page layout: labels stay inside the tree panel (every example topology, widest labels)', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  const cases = exampleTopologies().flatMap((file) => [1400, 1000].map((width) => [path.basename(file), width, file] as const));
  test.each(cases)('%s at a %i px wide window', async (_name, width, file) => {
    const report = widestReport(file);
    const served = await servePage(report);
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    try {
      await page.goto(served.url);
      await page.waitForSelector(`[data-node="${report.nodes[report.nodes.length - 1].id}"]`, { timeout: 20_000 });
      // The report's labels were drawn (a counter per hop), so the check below has something to measure.
      expect(await page.locator('[data-counter]').count()).toBe(report.paths.reduce((n, p) => n + p.hops.length, 0));
      expect(await treeOverflow(page)).toEqual([]);
    } finally {
      await page.close();
      await served.close();
    }
  });
});

describe(`vpm dashboard in headless Chromium (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let weStartedIt = false;
  let stackCreated = false;
  let dashboard: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  const scripts: NetnsScript[] = [];
  const netns = (name: string) => [...inventory.hypervisors, ...inventory.receivers].find((x) => x.name === name)!.netns;
  const counter = async (node: string): Promise<number | undefined> => {
    const v = await page.locator(`[data-counter="${PATH_NAME}/${node}"]`).getAttribute('data-packets', { timeout: 2000 }).catch(() => null);
    return v === null || v === '' ? undefined : Number(v);
  };

  beforeAll(async () => {
    requireLabPrerequisites({ ethtool: 'ethtool', virsh: 'libvirt-clients' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
    const built: Array<[string, string]> = [
      ['cli/vpm.ts', 'dist/cli/vpm.js'],
      ...['cli', 'commands', 'status', 'model', 'stack', 'pulumi'].map((m): [string, string] => [`monitor/${m}.ts`, `dist/monitor/${m}.js`]),
      ...['server', 'page'].map((m): [string, string] => [`monitor/dashboard/${m}.ts`, `dist/monitor/dashboard/${m}.js`]),
      ['stacks/main.ts', 'dist/stacks/main.js'],
    ];
    requireBuilt(...built.map(([, out]) => out));
    requireFresh(built);
    inventory = await acquireLibvirtLab();
    weStartedIt = true;
    lab = new LabHosts(inventory);
    stackCreated = true;
    ok(await pulumiCli('stack', 'init', STACK), 'stack init');
    ok(await pulumiCli('config', 'set', 'vpm:topology', 'stacks/topologies/lab.yaml', '--stack', STACK), 'config set');
    ok(await pulumi('up', '--stack', STACK), 'pulumi up');

    dashboard = spawn('node', [VPM, 'dashboard', '--stack', STACK, '--port', '0', '--interval', '1'], { cwd: PROJECT_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    dashboard.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    dashboard.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    url = await until('the dashboard URL', 20_000, async () => {
      if (dashboard!.exitCode !== null) throw new Error(`vpm dashboard exited ${dashboard!.exitCode}: ${err}`);
      return /(http:\/\/\S+\/)/.exec(out)?.[1];
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  }, 300_000);

  afterAll(async () => {
    killAll(scripts.splice(0));
    try {
      await browser?.close();
      if (dashboard && dashboard.exitCode === null) {
        dashboard.kill('SIGINT');
        await new Promise((r) => {
          const t = setTimeout(() => (dashboard!.kill('SIGKILL'), r(undefined)), 5000);
          dashboard!.once('exit', () => (clearTimeout(t), r(undefined)));
        });
      }
      if (stackCreated && (await pulumiCli('stack', 'rm', STACK, '--yes', '--force')).code === 0) forgetStackFiles();
    } finally {
      if (weStartedIt) await labDown({ log: () => undefined });
    }
  }, 120_000);

  test('binds 127.0.0.1 by default and refuses requests for another host name', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await getWithHost(`${url}healthz`, new URL(url).host)).toBe(200);
    expect(await getWithHost(`${url}api/status`, 'attacker.example:80')).toBe(421);
  });

  test('the page draws the tree (roles, redundancy dashed, the path), the hosts and the VM', async () => {
    const errors: string[] = [];
    const badResponses: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The page's own files only: /api/status may answer 503 until the first collection is done.
    const own = (u: string) => /\/app\.(css|js)$/.test(new URL(u).pathname);
    page.on('requestfailed', (r) => void (own(r.url()) && badResponses.push(`${r.url()}: ${r.failure()?.errorText}`)));
    page.on('response', (r) => void (own(r.url()) && r.status() >= 400 && badResponses.push(`${r.url()}: HTTP ${r.status()}`)));
    await page.goto(url);
    await page.waitForSelector('[data-node="h4"]', { timeout: 20_000 });
    // The role colours are CSS variables from /app.css: on a loaded machine the first render can
    // come before the stylesheet applies, so wait for it (a stylesheet that never loads still fails).
    const styled = await page
      .waitForFunction(() => getComputedStyle(document.documentElement).getPropertyValue('--root').trim() !== '', undefined, { timeout: 20_000 })
      .then(() => true, () => false);
    expect({ styled, badResponses }).toEqual({ styled: true, badResponses: [] });
    const roles = await page.$$eval('[data-node]', (els) => els.map((e) => [e.getAttribute('data-node'), e.getAttribute('data-role')]));
    expect(roles).toEqual([
      ['h1', 'root'],
      ['h2', 'relay'],
      ['h3', 'leaf'],
      ['h4', 'leaf'],
    ]);
    // Role colours differ; every host ring has a CPU level.
    const fills = await page.$$eval('[data-node] .node-body', (els) => els.map((e) => getComputedStyle(e).fill));
    expect(new Set(fills).size).toBe(3);
    const rings = await page.$$eval('[data-node] .node-ring', (els) => els.map((e) => getComputedStyle(e).stroke));
    expect(rings.filter((r) => r === 'none' || r === '')).toEqual([]);
    const levels = await page.$$eval('[data-node]', (els) => els.map((e) => e.getAttribute('data-level')));
    for (const l of levels) expect(['ok', 'warn', 'crit']).toContain(l);
    expect(await page.$$eval('[data-link]', (els) => els.map((e) => e.getAttribute('data-link')))).toEqual(['h1-h2', 'h2-h3', 'h2-h4']);
    const dash = await page.$eval('[data-redundancy="h3-h4"]', (e) => getComputedStyle(e).strokeDasharray);
    expect(dash).not.toBe('none');
    expect(await page.locator(`polyline[data-path="${PATH_NAME}"]`).count()).toBe(1);
    expect(await page.$$eval('[data-host]', (els) => els.map((e) => [e.getAttribute('data-host'), e.getAttribute('data-online')]))).toEqual([
      ['h1', 'true'],
      ['h2', 'true'],
      ['h3', 'true'],
      ['h4', 'true'],
    ]);
    expect(await page.locator('[data-node="h3"] [data-vm="leafvm"]').count()).toBe(1);
    expect(await page.getAttribute('#conn', 'data-state')).toBe('live');
    expect(errors).toEqual([]);
  });

  test('a per-hop counter increases while a stream runs (live updates)', async () => {
    await lab.must('h1', ['ip', 'addr', 'replace', `${SOURCE_IP}/16`, 'dev', 'src0']);
    await lab.must('h1', ['ip', 'link', 'set', 'src0', 'up']);
    await lab.must('h1', ['ethtool', '-K', 'src0', 'tx', 'off']);
    const before = await until('a first counter', 10_000, () => counter('h1'));
    const s = await UdpSender.start(netns('h1'), { ip: '10.99.255.255', port: 5004, count: 0, intervalUs: 2000, bindIp: SOURCE_IP });
    scripts.push(s);
    const first = await until('the root counter to increase', 15_000, async () => {
      const v = await counter('h1');
      return v !== undefined && v > before ? v : undefined;
    });
    // And again: the page keeps following the stream, at every hop up to the leaf.
    await until('the root counter to increase again', 15_000, async () => {
      const v = await counter('h1');
      return v !== undefined && v > first ? v : undefined;
    });
    const leaf = await counter('h3');
    expect(leaf).toBeGreaterThan(0);
    expect(await page.locator(`tr[data-path="${PATH_NAME}"][data-hop="h3"] td.state-ok`).count()).toBe(1);
    expect(await treeOverflow(page)).toEqual([]);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await s.halt();
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(20_000);
  });

  test('a migration under way shows as a progress bar (hosts replayed from a recorded live migration)', async () => {
    // A second dashboard in this process, on the recorded lab stack, whose h3 answers
    // domjobinfo as libvirt did a third of the way through a live migration of leafvm.
    const fix = path.join(PROJECT_ROOT, 'test', 'unit', 'monitor', 'fixtures');
    const resources = JSON.parse(fs.readFileSync(path.join(fix, 'lab-stack.json'), 'utf8')).resources;
    const hosts = JSON.parse(fs.readFileSync(path.join(fix, 'lab-hosts.json'), 'utf8')) as Record<string, Record<string, string>>;
    const job = JSON.parse(fs.readFileSync(path.join(fix, 'domjobinfo-migration.json'), 'utf8')).middle as string;
    const replay = (h: { name: string }) =>
      new RecordingRunner({
        host: h.name,
        handler: (call) => {
          const key = call.argv.join(' ');
          if (key === 'head -n1 /proc/stat') return { stdout: `cpu  ${Date.now() % 100000} 0 0 ${Date.now() % 100000} 0 0 0 0 0 0\n` };
          if (h.name === 'h3' && key === 'virsh domjobinfo leafvm') return { stdout: job };
          const out = hosts[h.name]?.[key];
          return out === undefined ? { stdout: '', exitCode: 1 } : { stdout: out };
        },
      });
    const replayed = await startDashboard({
      stack: 'recorded',
      port: 0,
      intervalMs: 500,
      source: { model: buildModel('recorded', resources, stackOutputsOf(resources)), thresholds: { warn: 50, crit: 80 }, runnerFor: replay },
    });
    const p = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await p.goto(replayed.url);
      const bar = p.locator('[data-migration="leafvm"]');
      await bar.waitFor({ timeout: 15_000 });
      expect(await bar.textContent()).toMatch(/leafvm leaving h3 · Outgoing migration · 35% · 728 ms/);
      const width = await bar.locator('.bar > span').evaluate((e) => (e as HTMLElement).style.width);
      expect(width).toBe('35%');
      expect(await p.locator('[data-node="h3"] [data-vm="leafvm"][class~="migrating"]').count()).toBe(1);
    } finally {
      await p.close();
      await replayed.close();
    }
  });
});
