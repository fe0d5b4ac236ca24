/**
 * The monitoring subcommands of `vpm` (cli/vpm.ts calls addMonitorCommands):
 *   status     hosts, CPU, VMs, tunnels, per-hop counters, migrations (table or --json, --watch)
 *   preview    `pulumi preview` as a pull-request comment (--markdown; --comment posts it)
 *   draw       a topology file as a Mermaid picture (or SVG) before anything is deployed
 *   dashboard  a local web page of the same, live (fastify, server-sent events)
 *   watch      libvirt and OVSDB events of every host POSTed to callback URLs (--react)
 * Heavy modules load inside the actions, so `vpm lab ...` starts as fast as before.
 * Exit codes: status exits 1 unless every host is online and every path intact.
 */
import { Command, InvalidArgumentError } from 'commander';

function positiveSeconds(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected a number of seconds in (0, ${max}].`);
    return n;
  };
}

function stackArg(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(value)) throw new InvalidArgumentError(`invalid stack name ${JSON.stringify(value)}.`);
  return value;
}

function commentTarget(value: string): string {
  // Parsed again where it is used; here only so a bad value is a usage error before any preview runs.
  const { parseCommentTarget } = require('./comment/target') as typeof import('./comment/target');
  try {
    parseCommentTarget(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 0 || Number(value) > 65535) throw new InvalidArgumentError('expected a TCP port 0..65535.');
  return Number(value);
}

function collectUrl(value: string, previous: string[] = []): string[] {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a URL.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`${u.origin}${u.pathname}: only http:// and https:// callbacks are supported.`);
  // Credentials in the URL would be sent and logged on every retry: refuse, without echoing them.
  if (u.username || u.password) throw new InvalidArgumentError(`${u.origin}${u.pathname}: remove the user:password@ part; sign events with --callback-secret-file instead.`);
  return [...previous, value];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Resolves on SIGINT/SIGTERM (and removes its handlers). */
function untilSignal(): { promise: Promise<string>; dispose: () => void } {
  let resolve!: (s: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  const on = (sig: string) => () => resolve(sig);
  const int = on('SIGINT');
  const term = on('SIGTERM');
  process.once('SIGINT', int);
  process.once('SIGTERM', term);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    },
  };
}

export function addMonitorCommands(program: Command): void {
  program
    .command('status')
    .description("a stack's hosts (online, CPU vs vpm:cpuWarn/vpm:cpuCrit), VMs, tunnels/BFD, per-hop flow counters, migrations")
    .requiredOption('--stack <name>', 'the Pulumi stack', stackArg)
    .option('--json', 'print JSON (one document; with --watch one per line)')
    .option('--watch', 'refresh until Ctrl-C')
    .option('--interval <s>', 'seconds between refreshes with --watch', positiveSeconds(3600), 2)
    .option('--timeout <s>', 'bound per host (connect included); a host that does not answer is offline', positiveSeconds(120), 5)
    .action(async (opts: { stack: string; json?: boolean; watch?: boolean; interval: number; timeout: number }) => {
      const { runStatus } = await import('./commands');
      process.exitCode = await runStatus(opts);
    });

  program
    .command('preview')
    .description('`pulumi preview` of a stack, summarised for a pull request: changes per hypervisor, flows per hop, migrations, redundancy warnings')
    .requiredOption('--stack <name>', 'the Pulumi stack', stackArg)
    .option('--markdown', 'write Markdown (the default and only format for now)')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--program <module>', 'the program module (default dist/stacks/main.js)')
    .option(
      '--comment <owner/repo#n>',
      'post it on that pull request as one comment, edited in place on later runs (GITHUB_TOKEN, GITHUB_API_URL); also appended to $GITHUB_STEP_SUMMARY when set',
      commentTarget,
    )
    .action(async (opts: { stack: string; markdown?: boolean; out?: string; program?: string; comment?: string }) => {
      const { runPreview } = await import('./commands');
      process.exitCode = await runPreview(opts);
    });

  program
    .command('draw')
    .description("a topology file as a picture before anything is deployed: the tree (solid), redundancy links (dashed), pruned nodes (grey), as Mermaid")
    .argument('<topology>', 'the topology YAML')
    .option('--svg <file>', 'also write the picture as a standalone SVG file')
    .action(async (file: string, opts: { svg?: string }) => {
      const { runDraw } = await import('./commands');
      process.exitCode = await runDraw(file, opts);
    });

  program
    .command('dashboard')
    .description('a live web page of the stack: the tree, hosts by CPU, VMs, counters, migrations (127.0.0.1 by default)')
    .requiredOption('--stack <name>', 'the Pulumi stack', stackArg)
    .option('--port <n>', 'TCP port (0: any free one)', port, 8080)
    .option('--host <address>', 'address to bind (anything but loopback exposes the page to the network)', '127.0.0.1')
    .option('--interval <s>', 'seconds between collections', positiveSeconds(3600), 2)
    .option('--timeout <s>', 'bound per host', positiveSeconds(120), 5)
    .option('--token-file <file>', 'a file holding the access token (needed for any --host but loopback; or VPM_DASHBOARD_TOKEN)')
    .option('--allow-host <name>', 'a DNS name the page may be reached by besides this machine\'s addresses (repeatable)', collect, [])
    .action(async (opts: { stack: string; port: number; host: string; interval: number; timeout: number; tokenFile?: string; allowHost: string[] }) => {
      const { runDashboard } = await import('./commands');
      const stop = untilSignal();
      try {
        process.exitCode = await runDashboard(opts, stop.promise);
      } finally {
        stop.dispose();
      }
    });

  program
    .command('watch')
    .description("subscribe to every host's libvirt domain events and OVSDB changes; POST each as JSON to the callbacks")
    .requiredOption('--stack <name>', 'the Pulumi stack', stackArg)
    .option('--callback <url>', 'a URL to POST events to (repeatable)', collectUrl, [])
    .option('--react', 'when a VM starts/stops or a port appears/disappears: pulumi up --refresh of the stack (refresh, then update)')
    .option('--program <module>', 'the program --react runs (default dist/stacks/main.js)')
    .option('--quiet', 'do not print events on standard output')
    .option('--callback-secret-file <file>', 'a file holding the shared secret events are signed with (X-VPM-Signature; or VPM_CALLBACK_SECRET)')
    .action(async (opts: { stack: string; callback: string[]; react?: boolean; program?: string; quiet?: boolean; callbackSecretFile?: string }) => {
      const { runWatch } = await import('./commands');
      const stop = untilSignal();
      try {
        process.exitCode = await runWatch(opts, stop.promise);
      } finally {
        stop.dispose();
      }
    });
}
