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
 * every response carries a strict Content-Security-Policy (same-origin scripts only), no
 * caching, nosniff. The page shows host addresses and flows, never credentials.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { loadStack } from '../stack';
import type { CommandRunner } from '../../providers/exec/runner';
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

/** Whether a request with this Host header may be served by a dashboard bound to `bound`. */
export function hostAllowed(header: string | undefined, bound: string): boolean {
  if (bound === '0.0.0.0' || bound === '::') return true; // the user chose to serve the network
  const name = hostHeaderName(header);
  if (!name) return false;
  return LOOPBACK.has(name) || name === bound.toLowerCase() || `[${bound.toLowerCase()}]` === name;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
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
  const push = (r: StatusReport) => {
    const frame = `event: status\ndata: ${JSON.stringify(r)}\n\n`;
    for (const s of streams) s.write(frame);
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
    if (!hostAllowed(req.headers.host, host)) {
      return reply.code(421).type('text/plain').send(`this dashboard answers only to ${host} and localhost\n`);
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
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    if (latest) res.write(`event: status\ndata: ${JSON.stringify(latest)}\n\n`);
    streams.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const done = () => {
      clearInterval(ping);
      streams.delete(res);
    };
    req.raw.on('close', done);
    res.on('error', done);
  });

  await app.listen({ port: options.port ?? 8080, host }); // fails (EADDRINUSE...) before any collection starts
  const loop = runLoop();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8080);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  if (!LOOPBACK.has(host)) log(`dashboard: listening on ${host}:${port}: reachable from the network, without authentication`);

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
