/**
 * The dashboard server without hosts or Pulumi: a fixed model of the recorded lab stack and
 * RecordingRunners replaying the lab's hosts. Checks the routes, the security headers, the
 * Host-header guard, and that /api/events streams StatusReports as server-sent events.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { RecordingRunner } from '../../../providers/exec/recording';
import { DUMP_GROUPS_BR1, plannedGroupsDump } from '../../support/groups-of-plan';
import { buildModel } from '../../../monitor/model';
import { stackOutputsOf, type StateResource } from '../../../monitor/pulumi';
import { hostAllowed, hostHeaderName, startDashboard, type Dashboard } from '../../../monitor/dashboard/server';
import { PAGE_JS } from '../../../monitor/dashboard/page';

const FIX = path.join(__dirname, 'fixtures');
const resources = (JSON.parse(fs.readFileSync(path.join(FIX, 'lab-stack.json'), 'utf8')) as { resources: StateResource[] }).resources;
const hostsOut = JSON.parse(fs.readFileSync(path.join(FIX, 'lab-hosts.json'), 'utf8')) as Record<string, Record<string, string>>;

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('Host header guard', () => {
  test('parses host names with ports and IPv6 brackets', () => {
    expect(hostHeaderName('127.0.0.1:8080')).toBe('127.0.0.1');
    expect(hostHeaderName('LOCALHOST')).toBe('localhost');
    expect(hostHeaderName('[::1]:8080')).toBe('[::1]');
    expect(hostHeaderName(undefined)).toBeUndefined();
  });

  test('a loopback dashboard answers to loopback names only; 0.0.0.0 to this machine\'s addresses and allowed names, never any name', () => {
    expect(hostAllowed('127.0.0.1:8080', '127.0.0.1')).toBe(true);
    expect(hostAllowed('localhost:8080', '127.0.0.1')).toBe(true);
    expect(hostAllowed('evil.example', '127.0.0.1')).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1')).toBe(false);
    expect(hostAllowed('10.0.0.5:8080', '10.0.0.5')).toBe(true);
    // Bound to every address the Host check stays on (DNS rebinding, issue 17).
    const own = new Set(['10.0.0.5', '[fe80::1]']);
    expect(hostAllowed('evil.example', '0.0.0.0', [], own)).toBe(false);
    expect(hostAllowed('10.0.0.5:8080', '0.0.0.0', [], own)).toBe(true);
    expect(hostAllowed('[fe80::1]:8080', '::', [], own)).toBe(true);
    expect(hostAllowed('dash.example:8080', '0.0.0.0', ['dash.example'], own)).toBe(true);
  });
});

describe('startDashboard (fixed model, replayed hosts)', () => {
  let d: Dashboard;

  beforeAll(async () => {
    const model = buildModel('mon-1', resources, stackOutputsOf(resources));
    let tick = 0;
    const runnerFor = (h: { name: string }) =>
      new RecordingRunner({
        host: h.name,
        handler: (call) => {
          const key = call.argv.join(' ');
          if (key === 'head -n1 /proc/stat') return { stdout: `cpu  ${100 + ++tick * 20} 0 0 ${1000 + tick * 80} 0 0 0 0 0 0\n` };
          if (key === DUMP_GROUPS_BR1) return { stdout: plannedGroupsDump(model, h.name) };
          return { stdout: hostsOut[h.name]?.[key] ?? '', exitCode: hostsOut[h.name]?.[key] === undefined ? 1 : 0 };
        },
      });
    d = await startDashboard({ stack: 'mon-1', port: 0, intervalMs: 200, source: { model, thresholds: { warn: 50, crit: 80 }, runnerFor } });
  });

  afterAll(async () => {
    await d.close();
  });

  test('binds 127.0.0.1 on the port asked (0: any free one)', () => {
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test('serves the page, its script and style with a strict CSP', async () => {
    const page = await get(d.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script src="/app.js"></script>');
    expect(page.body).toContain('<svg id="tree"');
    const js = await get(`${d.url}app.js`);
    expect(js.body).toBe(PAGE_JS);
    expect(() => new Function(PAGE_JS)).not.toThrow(); // it parses (the browser test runs it)
    expect((await get(`${d.url}app.css`)).headers['content-type']).toMatch(/text\/css/);
    expect((await get(`${d.url}favicon.ico`)).status).toBe(204);
  });

  test('refuses a request whose Host is not the dashboard (DNS rebinding)', async () => {
    expect((await get(`${d.url}api/status`, { host: 'attacker.example' })).status).toBe(421);
  });

  test('/api/status is the latest StatusReport', async () => {
    let r = await get(`${d.url}api/status`);
    for (let i = 0; i < 50 && r.status === 503; i++) {
      await new Promise((x) => setTimeout(x, 100));
      r = await get(`${d.url}api/status`);
    }
    const report = JSON.parse(r.body);
    expect(report).toMatchObject({ version: 1, stack: 'mon-1', summary: { hosts: 4, online: 4 } });
    expect(report.paths[0].hops.map((h: any) => h.packets)).toEqual([999, 999, 999]);
  });

  test('/api/events streams reports as `event: status` frames', async () => {
    const frames = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const req = http.get(`${d.url}api/events`, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        let buf = '';
        res.on('data', (chunk) => {
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (frame.startsWith('event: status')) got.push(frame);
            if (got.length === 2) {
              req.destroy();
              resolve(got);
            }
          }
        });
      });
      req.on('error', (e) => (got.length === 2 ? undefined : reject(e)));
    });
    const reports = frames.map((f) => JSON.parse(f.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
    expect(reports.map((r) => r.stack)).toEqual(['mon-1', 'mon-1']);
    expect(Date.parse(reports[1].takenAt)).toBeGreaterThanOrEqual(Date.parse(reports[0].takenAt));
  });
});
