/**
 * Dashboard and `vpm watch` against hostile peers (issue 17, items 1, 7, 8), all in-process:
 *  - callbacks: a redirect is refused (the second server gets nothing), events are signed
 *    (HMAC-SHA256 the receiver can recompute), an endless answer is cut at the cap, a URL with
 *    credentials is refused without echoing them;
 *  - --react is rate-limited: a guest flapping 20 times makes at most burst + refill reactions;
 *  - event streams: a host sending a line without end keeps the buffer bounded;
 *  - the watch log never shows key text pasted into privateKeyPath;
 *  - dashboard: any address but loopback needs a token; bound to 0.0.0.0 the Host check still
 *    refuses a rebinding name; event streams are capped; a client that stops reading is dropped.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { Dispatcher, signEvent } from '../../monitor/events/dispatch';
import { LineBuffer, MAX_EVENT_LINE } from '../../monitor/events/lines';
import { OvsdbMonitorParser } from '../../monitor/events/ovsdb-events';
import { VirshEventParser } from '../../monitor/events/virsh-events';
import { RateLimiter, startWatch, Reactor } from '../../monitor/events/watch';
import { startDashboard, type Dashboard } from '../../monitor/dashboard/server';
import type { StackModel } from '../../monitor/model';
import type { VpmEvent } from '../../monitor/events/types';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nV0FUQ0hMT0dTRUNSRVRLRVlNQVRFUklBTA==\n-----END OPENSSH PRIVATE KEY-----\n';
const HOST_KEY = 'SHA256:' + 'A'.repeat(43);

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

const event = (seq: number): VpmEvent => ({ source: 'vpm', type: 'test', version: 1, id: `id-${seq}`, seq, stack: 's', at: 'now', receivedAt: 'now' }) as unknown as VpmEvent;
const body = (req: http.IncomingMessage) => new Promise<string>((r) => {
  let b = '';
  req.on('data', (d) => (b += d));
  req.on('end', () => r(b));
});

describe('callbacks', () => {
  it('a redirect is refused: the event never reaches the redirect target', async () => {
    let reached = 0;
    const target = await serve((req, res) => {
      reached++;
      res.end('ok');
    });
    const redirector = await serve((_req, res) => {
      res.writeHead(307, { location: `${target}/steal` });
      res.end();
    });
    const lines: string[] = [];
    const d = new Dispatcher([`${redirector}/hook`], { backoffMs: 10, log: (l) => lines.push(l) });
    d.post(event(1));
    await d.close(5000);
    expect(reached).toBe(0);
    expect(d.stats()[0]).toMatchObject({ delivered: 0, failed: 1 });
    expect(lines.join('\n')).toMatch(/HTTP 307 redirect refused/);
  });

  it('with a shared secret every POST carries a signature the receiver can recompute', async () => {
    const got: Array<{ sig: string; ts: string; body: string }> = [];
    const url = await serve(async (req, res) => {
      got.push({ sig: String(req.headers['x-vpm-signature']), ts: String(req.headers['x-vpm-timestamp']), body: await body(req) });
      res.end();
    });
    const d = new Dispatcher([url], { secret: 'shared-secret-of-the-receiver' });
    d.post(event(1));
    d.post(event(2));
    await d.close(5000);
    expect(got).toHaveLength(2);
    for (const g of got) {
      expect(g.sig).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(g.sig).toBe(signEvent('shared-secret-of-the-receiver', g.ts, g.body));
      expect(g.sig).not.toBe(signEvent('another-secret', g.ts, g.body));
    }
  });

  it('an endless answer is cut at the cap: the event counts as delivered, no timeout', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 0x78);
      const t = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(t));
    });
    const d = new Dispatcher([url], { timeoutMs: 4000, attempts: 1 });
    const t0 = Date.now();
    d.post(event(1));
    await d.close(6000);
    expect(d.stats()[0]).toMatchObject({ delivered: 1, failed: 0 });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a URL with credentials is refused without showing them', () => {
    let err: unknown;
    try {
      new Dispatcher(['https://ops:hunter2secret@hooks.example.net/vpm?x=1']);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/carries credentials/);
    expect(String(err)).not.toContain('hunter2secret');
    expect(String(err)).not.toContain('ops:');
  });
});

describe('--react is rate-limited', () => {
  it('a guest flapping 20 times in 1.2 s: burst 2 + 1 refill per second = at most 3 reactions', async () => {
    let runs = 0;
    const emitted: string[] = [];
    const r = new Reactor('s', 'p', 10, (e) => emitted.push(String(e.type)), () => undefined, new RateLimiter(2, 1000), async () => {
      runs++;
      await new Promise((res) => setTimeout(res, 20));
      return {};
    });
    for (let i = 0; i < 20; i++) {
      r.notice(event(i));
      await new Promise((res) => setTimeout(res, 60));
    }
    await r.close();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(3);
    expect(emitted.filter((t) => t === 'reaction.deferred').length).toBeGreaterThanOrEqual(1);
  });

  it('the limiter: burst, then one per interval', () => {
    let now = 0;
    const l = new RateLimiter(2, 1000, () => now);
    expect([l.take(), l.take()]).toEqual([0, 0]);
    expect(l.take()).toBe(1000);
    now = 999;
    expect(l.take()).toBe(1);
    now = 1000;
    expect(l.take()).toBe(0);
    expect(l.take()).toBe(1000);
  });
});

describe('event streams keep bounded buffers', () => {
  it('a line without end is dropped at the cap; the stream goes on', () => {
    const b = new LineBuffer();
    const junk = 'x'.repeat(MAX_EVENT_LINE / 4);
    for (let i = 0; i < 400; i++) expect(b.push(junk)).toEqual([]); // 100 * the cap, no newline
    expect(b.peek().length).toBeLessThanOrEqual(MAX_EVENT_LINE);
    expect(b.push('tail of the junk\nnext line\n')).toEqual(['next line']);
    expect(b.dropped).toBe(1);
  });

  it('both parsers use it: 8 MiB without a newline, then an event still parses', () => {
    const v = new VirshEventParser();
    const o = new OvsdbMonitorParser();
    const junk = 'y'.repeat(1024 * 1024);
    for (let i = 0; i < 8; i++) {
      v.push(junk);
      o.push(junk);
    }
    expect(v.lines.peek().length + o.lines.peek().length).toBeLessThanOrEqual(2 * MAX_EVENT_LINE);
    expect(v.lines.dropped).toBe(1);
  });
});

/** A stack model with hosts only (no tree, paths or VMs): what watch and the dashboard need here. */
function modelWith(stack: string, hosts: unknown[]): StackModel {
  return { stack, nodes: [], tree: [], redundancy: [], pruned: [], paths: [], vms: [], tunnels: [], hosts } as unknown as StackModel;
}

describe('the watch log never shows key text', () => {
  it('a state whose privateKeyPath holds a key: watch refuses to start, naming the field, without the key', async () => {
    const lines: string[] = [];
    const model = modelWith('s', [{ name: 'h1', address: '127.0.0.1:9', connection: { host: '127.0.0.1', port: 9, hostKey: HOST_KEY, privateKeyPath: KEY, connectAttempts: 1 }, nodes: ['h1'], bridges: ['br1'] }]);
    const events: VpmEvent[] = [];
    const err = await startWatch({ stack: 's', callbacks: [], model, log: (l) => lines.push(l), onEvent: (e) => events.push(e) }).then(
      async (w) => (await w.close(), undefined),
      (e: unknown) => e,
    );
    const all = `${String(err)} ${JSON.stringify(err)} ${lines.join('\n')} ${JSON.stringify(events)}`;
    expect(String(err)).toMatch(/privateKeyPath: holds key text, not a file path/);
    expect(all).not.toContain('V0FUQ0hMT0dTRUNSRVRLRVlNQVRFUklBTA');
    expect(all).not.toContain('BEGIN OPENSSH');
  });
});

describe('dashboard exposure', () => {
  const model = (hosts = 0) =>
    modelWith(
      'd',
      Array.from({ length: hosts }, (_, i) => ({ name: `host-${i}-${'n'.repeat(200)}`, address: `192.0.2.${i % 250}:22`, connection: { host: `192.0.2.${i % 250}`, hostKey: HOST_KEY }, nodes: [`n${i}`], bridges: ['br1'] })),
    );
  const source = (hosts = 0) => ({
    model: model(hosts),
    thresholds: { warn: 50, crit: 80 },
    runnerFor: () => ({ host: 'x', run: () => Promise.reject(new Error('offline')), stream: () => Promise.reject(new Error('offline')), close: async () => undefined }),
  });
  let d: Dashboard | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  const get = (port: number, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    });

  it('0.0.0.0 without a token is refused before listening', async () => {
    await expect(startDashboard({ stack: 'd', host: '0.0.0.0', port: 0, source: source() })).rejects.toThrow(/exposes the dashboard to the network: give a token/);
    await expect(startDashboard({ stack: 'd', host: '0.0.0.0', port: 0, token: 'short', source: source() })).rejects.toThrow(/at least 16 characters/);
  });

  it('0.0.0.0 with a token: no token 401, Bearer and the ?token= cookie pass, a rebinding Host is refused', async () => {
    const token = 'a-long-dashboard-token-123';
    d = await startDashboard({ stack: 'd', host: '0.0.0.0', port: 0, token, intervalMs: 100, source: source() });
    expect((await get(d.port, '/healthz')).status).toBe(401);
    expect((await get(d.port, '/healthz', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await get(d.port, '/healthz', { authorization: `Bearer ${token}` })).status).toBe(200);
    const link = await get(d.port, `/?token=${token}`);
    expect(link.status).toBe(303);
    const cookie = String(link.headers['set-cookie']).split(';')[0];
    expect(String(link.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await get(d.port, '/api/status', { cookie })).status).not.toBe(401);
    // DNS rebinding: the attacker's name resolves to this machine; the Host header gives it away.
    expect((await get(d.port, '/healthz', { host: `evil.example:${d.port}`, authorization: `Bearer ${token}` })).status).toBe(421);
  });

  it('event streams are capped; a client that stops reading is dropped', async () => {
    const logs: string[] = [];
    // 300 offline hosts with long names: each report is tens of KB, sent every 20 ms.
    d = await startDashboard({ stack: 'd', port: 0, intervalMs: 20, hostTimeoutMs: 50, maxClients: 2, maxBufferedBytes: 1024 * 1024, log: (l) => logs.push(l), source: source(300) });
    const open = () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(d!.port, '127.0.0.1', () => {
          s.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${d!.port}\r\n\r\n`);
          resolve(s);
        });
      });
    const a = await open();
    const b = await open();
    let bBytes = 0;
    b.on('data', (c: Buffer) => (bBytes += c.length));
    a.on('data', () => undefined);
    await new Promise((r) => setTimeout(r, 150)); // both registered, both reading
    // The third: only its status line matters (a 200 would be an endless stream).
    const third = await new Promise<string>((resolve) => {
      const s = net.connect(d!.port, '127.0.0.1', () => s.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${d!.port}\r\n\r\n`));
      s.once('data', (c: Buffer) => (resolve(c.toString('latin1').split('\r\n')[0]), s.destroy()));
      setTimeout(() => (resolve('no answer'), s.destroy()), 5000);
    });
    expect(third).toBe('HTTP/1.1 503 Service Unavailable');
    a.pause(); // from now on `a` never reads
    const until = Date.now() + 20_000;
    while (!logs.some((l) => /dropped an event stream that was not reading/.test(l)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(logs.some((l) => /dropped an event stream that was not reading/.test(l))).toBe(true);
    expect(bBytes).toBeGreaterThan(0); // the reading client kept getting reports
    a.destroy();
    b.destroy();
  });
});
