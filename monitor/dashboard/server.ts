/**
 * `vpm dashboard`: a fastify server for one stack. A loop collects a StatusReport every
 * interval (status.ts, the hosts in parallel, each bounded) and pushes it to every open page
 * through server-sent events; the stack itself is re-read every 30 s, so a `pulumi up`
 * (migration, new path) shows without a restart.
 *
 * Routes: GET / (page), /app.js, /app.css, /api/status (latest report, JSON), /api/events
 * (text/event-stream: `event: status` with a report per collection), /healthz.
 *
 * Exposure: binds 127.0.0.1 unless told otherwise. Requests whose Host header is not the
 * bound address or localhost are refused (a DNS-rebinding page cannot read the dashboard);
 * bound to every address (0.0.0.0, ::) the Host must be localhost, an address of this
 * machine or a name given in `allowedHosts`, never any name (that was the rebinding hole).
 * Any address but loopback needs a token: the page is opened once as `/?token=<token>`, which
 * sets an HttpOnly SameSite=Strict cookie; API clients send `Authorization: Bearer <token>`.
 * Every response carries a strict Content-Security-Policy (same-origin scripts only), no
 * caching, nosniff. The page shows host addresses and flows, never credentials.
 *
 * Server-sent events: at most `maxClients` streams (503 beyond); a client that does not read
 * (its unsent data above `maxBufferedBytes`) is dropped instead of buffered without end.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { loadStack } from '../stack';
import type { CommandRunner } from '../../providers/exec';
import type { CpuThresholds } from '../cpu';
import type { ModelHost, StackModel } from '../model';
import { shouldReloadModel, StatusCollector, type StatusReport } from '../status';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page';

export interface DashboardOptions {
  readonly stack: string;
  /** 0 = any free port. Default 8080. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Between collections; default 2000 ms. */
  readonly intervalMs?: number;
  readonly hostTimeoutMs?: number;
  /** How often the stack is re-read; default 30 s. */
  readonly modelRefreshMs?: number;
  readonly log?: (line: string) => void;
  /** Required for any address but loopback (see the module header). */
  readonly token?: string;
  /** Names the Host header may carry besides localhost and this machine's addresses. */
  readonly allowedHosts?: readonly string[];
  /** Open event streams at most; default 32. */
  readonly maxClients?: number;
  /** Unsent bytes per event stream before the client is dropped; default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** A fixed model and host access instead of reading the stack (tests); never re-read. */
  readonly source?: { readonly model: StackModel; readonly thresholds: CpuThresholds; readonly runnerFor?: (host: ModelHost) => CommandRunner };
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** The latest report (undefined before the first collection). */
  latest(): StatusReport | undefined;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The hostname part of a Host header ("h:8080", "[::1]:8080"). */
export function hostHeaderName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1);
  const i = v.lastIndexOf(':');
  return i < 0 ? v : v.slice(0, i);
}

/** This machine's own addresses, as a Host header names them ("10.0.0.5", "[fe80::1]"). */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address);
  }
  return out;
}

/**
 * Whether a request with this Host header may be served by a dashboard bound to `bound`.
 * Bound to every address, only localhost, this machine's own addresses and `allowed` names
 * pass: a rebinding attacker's own domain never does.
 */
export function hostAllowed(header: string | undefined, bound: string, allowed: readonly string[] = [], own: Set<string> = ownAddresses()): boolean {
  const name = hostHeaderName(header);
  if (!name) return false;
  if (LOOPBACK.has(name) || allowed.some((a) => a.toLowerCase() === name)) return true;
  if (bound === '0.0.0.0' || bound === '::') return own.has(name);
  return name === bound.toLowerCase() || `[${bound.toLowerCase()}]` === name;
}

/** Whether the dashboard may run on `host` with `token` (undefined) or why not. */
export function exposureProblem(host: string, token: string | undefined): string | undefined {
  if (LOOPBACK.has(host)) return undefined;
  if (!token || token.length < 16) {
    return (
      `binding ${host} exposes the dashboard to the network: give a token of at least 16 characters ` +
      '(--token-file FILE or VPM_DASHBOARD_TOKEN), or keep the default 127.0.0.1'
    );
  }
  return undefined;
}

/** Constant-time comparison of a presented token with the expected one. */
function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const h = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(h(presented), h(expected));
}

const COOKIE = 'vpm_dashboard';

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  const problem = exposureProblem(host, options.token);
  if (problem) throw new Error(problem);
  const token = options.token;
  const allowedHosts = options.allowedHosts ?? [];
  const own = ownAddresses();
  const maxClients = options.maxClients ?? 32;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const intervalMs = options.intervalMs ?? 2000;
  const refreshMs = options.modelRefreshMs ?? 30_000;
  const loaded = options.source ?? (await loadStack(options.stack)); // fails fast on a missing or empty stack
  const collector = new StatusCollector(loaded.model, loaded.thresholds, {
    ...(options.hostTimeoutMs ? { hostTimeoutMs: options.hostTimeoutMs } : {}),
    ...(options.source?.runnerFor ? { runnerFor: options.source.runnerFor } : {}),
  });

  let latest: StatusReport | undefined;
  let lastError: string | undefined;
  const streams = new Set<ServerResponse>();
  /** Writes to one stream, or drops it when it is not reading (its backlog above the cap). */
  const send = (s: ServerResponse, frame: string) => {
    if (s.writableLength > maxBuffered) {
      streams.delete(s);
      log(`dashboard: dropped an event stream that was not reading (${s.writableLength} bytes waiting)`);
      s.destroy();
      return;
    }
    s.write(frame);
  };
  const push = (r: StatusReport) => {
    const frame = `event: status\ndata: ${JSON.stringify(r)}\n\n`;
    for (const s of [...streams]) send(s, frame);
  };

  // The collection loop.
  let stopped = false;
  let wake: (() => void) | undefined;
  const runLoop = async () => {
    let modelAt = Date.now();
    while (!stopped) {
      const started = Date.now();
      if (!options.source && shouldReloadModel(latest, modelAt, started, refreshMs)) {
        modelAt = started;
        try {
          const again = await loadStack(options.stack);
          collector.setModel(again.model, again.thresholds);
        } catch (e) {
          log(`dashboard: could not re-read stack ${options.stack}: ${e instanceof Error ? e.message : e}`);
        }
      }
      try {
        latest = await collector.collect();
        lastError = undefined;
        push(latest);
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
        log(`dashboard: collection failed: ${lastError}`);
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0 && !stopped) await Promise.race([sleep(wait), new Promise<void>((r) => (wake = r))]);
    }
  };

  const { default: Fastify } = await import('fastify');
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (!hostAllowed(req.headers.host, host, allowedHosts, own)) {
      return reply.code(421).type('text/plain').send(`this dashboard answers only to ${host}, this machine's addresses and localhost\n`);
    }
    if (token) {
      const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const query = (req.query as Record<string, unknown> | undefined)?.token;
      if (typeof query === 'string' && tokenMatches(query, token)) {
        // Once from the link: keep it in a cookie the page's own requests (and EventSource) send.
        return reply
          .header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
          .redirect(req.url.split('?')[0] || '/', 303);
      }
      if (!tokenMatches(auth ?? cookieToken(req.headers.cookie), token)) {
        return reply.code(401).type('text/plain').send('this dashboard needs its token: open /?token=<token> once, or send Authorization: Bearer <token>\n');
      }
    }
    return undefined;
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE_HTML));
  app.get('/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(PAGE_JS));
  app.get('/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(PAGE_CSS));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/healthz', async () => ({ ok: true, stack: options.stack, collected: latest?.takenAt ?? null }));
  app.get('/api/status', async (_req, reply) => {
    if (latest) return reply.send(latest);
    return reply.code(503).send({ error: lastError ?? 'the first collection is still running; retry in a moment' });
  });
  app.get('/api/events', (req, reply) => {
    if (streams.size >= maxClients) {
      return reply.code(503).header('retry-after', '10').type('text/plain').send(`at most ${maxClients} live views at once; close one or use /api/status\n`);
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    if (latest) res.write(`event: status\ndata: ${JSON.stringify(latest)}\n\n`);
    streams.add(res);
    const ping = setInterval(() => send(res, ': ping\n\n'), 15_000);
    const done = () => {
      clearInterval(ping);
      streams.delete(res);
    };
    req.raw.on('close', done);
    res.on('close', done);
    res.on('error', done);
  });

  await app.listen({ port: options.port ?? 8080, host }); // fails (EADDRINUSE...) before any collection starts
  const loop = runLoop();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8080);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  if (!LOOPBACK.has(host)) log(`dashboard: listening on ${host}:${port}: reachable from the network; open it once as /?token=<your token>`);

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    latest: () => latest,
    async close() {
      stopped = true;
      wake?.();
      for (const s of streams) s.end();
      streams.clear();
      await app.close();
      await loop;
    },
  };
}
