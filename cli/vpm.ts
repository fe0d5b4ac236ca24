#!/usr/bin/env node
/**
 * The `vpm` command line: a thin commander layer over the programmatic APIs (lab/ for now).
 * Exit codes: 0 ok; 1 the operation failed; 2 usage error (unknown flag, bad value);
 * `lab exec` exits with the command's own code.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { LabError, formatStatus, labDown, labExecInteractive, labStatus, labUp, MAX_HYPERVISORS, MAX_RECEIVERS } from '../lab';
import { LabSite } from '../lab/names';
import { stackLabSize } from '../lab/stack-lab';
import { runStreamSend, runStreamWatch } from '../lab/stream/run';
import { claimStack, checkStack, forgetStack, releaseStacks } from '../lab/stack-lifecycle';
import { recordDeployment } from '../lab/generations';
import { generationOf, readInventory } from '../lab/inventory';
import { STACK_NAME_RE } from '../monitor/pulumi';
import { addMonitorCommands } from '../monitor/cli';

/** The lab's own stacks (`npm run lab`): only their state may be reset by `lab claim --reset`. */
export const OWN_STACKS: readonly string[] = ['lab', 'paper'];

const EXIT_USAGE = 2;

function intInRange(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer in ${min}..${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range: allowed ${min}..${max}.`);
    return n;
  };
}

/** A stack name: it names a folder and namespaces (names.ts), so only Pulumi's own characters. */
function anyStackName(value: string): string {
  if (!STACK_NAME_RE.test(value)) throw new InvalidArgumentError('not a valid stack name: use letters, digits, _ . - (starting with a letter or digit).');
  return value;
}

const STACK_HELP = "the stack's own lab (namespaces and folder .labs/<stack> derived from the name); without it, the plain lab";

export function buildProgram(): Command {
  const program = new Command('vpm')
    .description('The Virtual Puppet Master: SDN streaming trees on Open vSwitch')
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');

  const lab = program.command('lab').description('the local multi-hypervisor lab (network namespaces, one OVS + sshd each)');

  lab
    .command('up')
    .description('build a lab and write its inventory and hosts file (.lab/, or .labs/<stack>/ with --stack)')
    .option('--hypervisors <n>', `number of hypervisors, 1..${MAX_HYPERVISORS} (with --stack: from its topology)`, intInRange(1, MAX_HYPERVISORS), 3)
    .option('--receivers <m>', `number of receivers, 0..${MAX_RECEIVERS} (with --stack: from its topology)`, intInRange(0, MAX_RECEIVERS), 1)
    .option('--stack <name>', `${STACK_HELP}; sized from the stack's topology (--hypervisors/--receivers win)`, anyStackName)
    .option('--libvirt', 'also run a libvirtd per hypervisor and build the tiny guest (for VMs); implied by --stack')
    .action(async (opts: { hypervisors: number; receivers: number; stack?: string; libvirt?: boolean }, cmd: Command) => {
      const site = LabSite.of(opts.stack);
      const size = opts.stack ? stackLabSize(opts.stack) : undefined;
      const hypervisors = size && cmd.getOptionValueSource('hypervisors') !== 'cli' ? size.hypervisors : opts.hypervisors;
      const receivers = size && cmd.getOptionValueSource('receivers') !== 'cli' ? size.receivers : opts.receivers;
      const abort = new AbortController();
      const onSignal = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('vpm: interrupted; tearing down what was built (Ctrl-C again to quit at once)\n');
        abort.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        // A state pinned to an earlier lab's host keys would fail the stack's next `up`: refuse now.
        if (opts.stack) await checkStack(opts.stack, { site });
        const inventory = await labUp({ hypervisors, receivers, site, signal: abort.signal, libvirt: Boolean(opts.libvirt || opts.stack) });
        if (opts.stack) recordDeployment(opts.stack, generationOf(readInventory(site.paths.inventory)), site.paths);
        process.stdout.write(
          inventory.hypervisors.map((h) => `${h.name}\t${h.ip}\t${h.netns}`).join('\n') +
            '\n' +
            inventory.receivers.map((r) => `${r.name}\t${r.ip}\t${r.netns}\n`).join(''),
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  lab
    .command('down')
    .description(
      "first destroy what the stacks recorded on this lab deployed (if the lab answers; else forget it: removed from their state, " +
        "saying so), then stop the lab's processes (by PID), delete its namespaces and runtime files; safe to repeat",
    )
    .option('--stack <name>', `${STACK_HELP}; no other lab is touched`, anyStackName)
    .action(async (opts: { stack?: string }) => {
      const site = LabSite.of(opts.stack);
      await releaseStacks({ site });
      await labDown({ site });
    });

  lab
    .command('forget')
    .description("remove a stack's resources from its state because their lab is gone (no host is touched; the stack and its config stay)")
    .requiredOption('--stack <name>', 'the stack', anyStackName)
    .option('--plain', "the stack deployed on the plain lab (vpm lab up --hypervisors N), not on a lab of its own")
    .action(async (opts: { stack: string; plain?: boolean }) => {
      await forgetStack(opts.stack, { site: opts.plain ? LabSite.plain() : LabSite.forStack(opts.stack) });
    });

  lab
    .command('claim')
    .description('record that a stack deploys on the running lab; refuses a state left by an earlier lab (--reset: forget it, for the lab\'s own stacks)')
    .requiredOption('--stack <name>', 'the stack', anyStackName)
    .option('--reset', `forget a state left by an earlier lab instead of refusing (only the lab's own stacks: ${OWN_STACKS.join(', ')})`)
    .option('--plain', 'claim the plain lab (vpm lab up --hypervisors N) instead of the stack\'s own')
    .action(async (opts: { stack: string; reset?: boolean; plain?: boolean }) => {
      if (opts.reset && !OWN_STACKS.includes(opts.stack)) {
        throw new LabError(`--reset is only for the lab's own stacks (${OWN_STACKS.join(', ')}); reset ${opts.stack} explicitly with \`npx vpm lab forget --stack ${opts.stack}\``);
      }
      await claimStack(opts.stack, { reset: Boolean(opts.reset), site: opts.plain ? LabSite.plain() : LabSite.forStack(opts.stack) });
    });

  lab
    .command('status')
    .description('inventory plus liveness of every namespace and daemon (exit 1 unless healthy)')
    .option('--json', 'print JSON')
    .option('--stack <name>', STACK_HELP, anyStackName)
    .action(async (opts: { json?: boolean; stack?: string }) => {
      const status = await labStatus(LabSite.of(opts.stack));
      process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status) + '\n');
      if (!status.healthy) process.exitCode = 1;
    });

  lab
    .command('exec')
    .description("run a command in a lab node's namespace (hK with its OVS_* environment, rK, ul)")
    .argument('<node>', 'h1..hN, r1..rM or ul')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--stack <name>', STACK_HELP, anyStackName)
    .passThroughOptions()
    .action(async (node: string, command: string[], opts: { stack?: string }) => {
      const argv = command[0] === '--' ? command.slice(1) : command;
      process.exitCode = await labExecInteractive(node, argv, undefined, LabSite.of(opts.stack));
    });

  const stream = program
    .command('stream')
    .description("test streams through a streaming tree: send from the root's src0, watch at a receiver");
  const seconds = (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('expected a number of seconds in (0, 86400].');
    return n;
  };
  const where = (c: Command, stackHelp: string) =>
    c
      .option('--stack <name>', stackHelp)
      .option('--inventory <file>', 'the lab inventory (default: the running lab\'s)')
      .option('--port <n>', 'UDP port of the stream', intInRange(1, 65535), 5004)
      .option('--gst', 'a VP8/RTP video through GStreamer instead of numbered datagrams');

  where(stream.command('send'), "a stack of this project: the root is its topology's root host (and its vpm:inventory config is used)")
    .description("send from the root hypervisor's src0 (gives it 10.99.0.1/16): numbered datagrams to 10.99.255.255, or --gst video")
    .option('--root <hK>', 'the root hypervisor (default: from --stack, else the one with src0)')
    .option('--seconds <s>', 'how long to send', seconds, 10)
    .option('--rate <n>', 'datagrams per second', intInRange(1, 200_000), 1000)
    .option('--size <bytes>', 'datagram size', intInRange(16, 1400), 200)
    .option('--fps <n>', 'video frames per second (--gst)', intInRange(1, 120), 30)
    .action(async (opts: { stack?: string; inventory?: string; root?: string; port: number; gst?: boolean; seconds: number; rate: number; size: number; fps: number }) => {
      process.exitCode = await runStreamSend(opts);
    });

  where(stream.command('watch'), 'a stack of this project (its vpm:inventory config is used)')
    .description('count the stream in a receiver namespace: packets, unique, lost, longest gap (progress each second, JSON summary at the end)')
    .option('--receiver <rK>', 'the receiver', 'r1')
    .option('--seconds <s>', 'stop after this long (default: Ctrl-C)', seconds)
    .option('--expected <n>', 'what the sender sent (datagrams or frames), for `lost`', intInRange(0, 2 ** 31))
    .action(async (opts: { stack?: string; inventory?: string; receiver: string; port: number; gst?: boolean; seconds?: number; expected?: number }) => {
      process.exitCode = await runStreamWatch(opts);
    });

  addMonitorCommands(program); // status, preview, dashboard, watch (monitor/)

  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE; // commander already printed it
    process.stderr.write(`vpm: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
