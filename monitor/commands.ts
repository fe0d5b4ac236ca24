/**
 * The bodies of the monitoring subcommands (monitor/cli.ts parses the flags). Each returns the
 * exit code.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { closeAll } from '../providers/exec';
import { loadStack } from './stack';
import { formatStatus, shouldReloadModel, StatusCollector, type StatusReport } from './status';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against clean-up). */
const grace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Ends the process shortly after the command is done even if a connect attempt to a dead host
 * is still pending (its socket or proxy would otherwise keep Node alive until its own timeout).
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 1500).unref();
}

function healthy(r: StatusReport): boolean {
  return r.summary.offline === 0 && r.summary.pathsOk === r.summary.paths;
}

/** How often --watch and the dashboard re-read the stack (a `pulumi up` may have changed it). */
export const MODEL_REFRESH_MS = 30_000;

export async function runStatus(opts: { stack: string; json?: boolean; watch?: boolean; interval: number; timeout: number }): Promise<number> {
  const loaded = await loadStack(opts.stack);
  const collector = new StatusCollector(loaded.model, loaded.thresholds, { hostTimeoutMs: opts.timeout * 1000 });
  try {
    if (!opts.watch) {
      const r = await collector.collect();
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : formatStatus(r) + '\n');
      return healthy(r) ? 0 : 1;
    }
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let modelAt = Date.now();
    let last: StatusReport | undefined;
    try {
      while (!stopped) {
        const started = Date.now();
        if (shouldReloadModel(last, modelAt, started, MODEL_REFRESH_MS)) {
          modelAt = started;
          try {
            const again = await loadStack(opts.stack);
            collector.setModel(again.model, again.thresholds);
          } catch (e) {
            process.stderr.write(`vpm status: could not re-read the stack (${e instanceof Error ? e.message : e}); keeping the last one\n`);
          }
        }
        last = await collector.collect();
        if (opts.json) process.stdout.write(JSON.stringify(last) + '\n');
        else process.stdout.write((process.stdout.isTTY ? '\x1b[2J\x1b[H' : '\n') + formatStatus(last) + '\n');
        const wait = opts.interval * 1000 - (Date.now() - started);
        for (let t = 0; t < wait && !stopped; t += 100) await sleep(Math.min(100, wait - t));
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return last && healthy(last) ? 0 : 1;
  } finally {
    await Promise.race([closeAll(), grace(1000)]);
    exitSoon();
  }
}

export async function runPreview(opts: { stack: string; markdown?: boolean; out?: string; program?: string; comment?: string }): Promise<number> {
  const { previewMarkdown } = await import('./preview');
  const md = await previewMarkdown(opts.stack, { ...(opts.program ? { program: opts.program } : {}) });
  if (opts.out) fs.writeFileSync(opts.out, md);
  else if (!opts.comment) process.stdout.write(md);
  if (opts.comment) {
    const { parseCommentTarget } = await import('./comment/target');
    const { appendStepSummary, describePost, postPreviewComment } = await import('./comment/post');
    const target = parseCommentTarget(opts.comment);
    appendStepSummary(md);
    const r = await postPreviewComment(target, opts.stack, md, {
      token: process.env.GITHUB_TOKEN ?? '',
      ...(process.env.GITHUB_API_URL ? { apiUrl: process.env.GITHUB_API_URL } : {}),
    });
    process.stdout.write(`${describePost(target, r)}\n`);
  }
  return 0;
}

export async function runDraw(file: string, opts: { svg?: string }): Promise<number> {
  const { loadTopologyFile } = await import('../components/topology');
  const { pictureOfTopology } = await import('./picture/model');
  const { mermaidOf } = await import('./picture/mermaid');
  const { svgOf } = await import('./picture/svg');
  const picture = pictureOfTopology(loadTopologyFile(file));
  process.stdout.write(`${mermaidOf(picture)}\n`);
  if (opts.svg) fs.writeFileSync(opts.svg, svgOf(picture));
  return 0;
}

/** A secret from a file (first line) or an environment variable; undefined when neither. */
function secretFrom(file: string | undefined, env: string): string | undefined {
  if (file) return readFileSync(file, 'utf8').split('\n')[0].trim() || undefined;
  return process.env[env]?.trim() || undefined;
}

export async function runDashboard(
  opts: { stack: string; port: number; host: string; interval: number; timeout: number; tokenFile?: string; allowHost?: string[] },
  until: Promise<string>,
): Promise<number> {
  const { startDashboard } = await import('./dashboard/server');
  const token = secretFrom(opts.tokenFile, 'VPM_DASHBOARD_TOKEN');
  const d = await startDashboard({
    stack: opts.stack,
    port: opts.port,
    host: opts.host,
    ...(token ? { token } : {}),
    allowedHosts: opts.allowHost ?? [],
    intervalMs: opts.interval * 1000,
    hostTimeoutMs: opts.timeout * 1000,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`vpm dashboard of stack ${opts.stack}: ${d.url}\n`);
  await until;
  await d.close();
  await Promise.race([closeAll(), grace(1000)]);
  exitSoon();
  return 0;
}

export async function runWatch(
  opts: { stack: string; callback: string[]; react?: boolean; program?: string; quiet?: boolean; callbackSecretFile?: string },
  until: Promise<string>,
): Promise<number> {
  const { startWatch } = await import('./events/watch');
  const secret = secretFrom(opts.callbackSecretFile, 'VPM_CALLBACK_SECRET');
  if (opts.callback.length > 0 && !secret) {
    process.stderr.write('vpm watch: events go out UNSIGNED: give --callback-secret-file (or VPM_CALLBACK_SECRET) so receivers can check X-VPM-Signature\n');
  }
  const w = await startWatch({
    stack: opts.stack,
    callbacks: opts.callback,
    ...(secret ? { dispatch: { secret } } : {}),
    react: !!opts.react,
    ...(opts.program ? { program: opts.program } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
    onEvent: opts.quiet ? undefined : (e) => process.stdout.write(JSON.stringify(e) + '\n'),
  });
  await w.ready();
  const running = w.streams().filter((s) => s.state === 'running').length;
  process.stderr.write(`vpm watch: ready: ${running}/${w.streams().length} event streams running; ${opts.callback.length} callback(s)${opts.react ? '; reacting with up --refresh' : ''}\n`);
  await until;
  await w.close();
  exitSoon();
  return 0;
}
