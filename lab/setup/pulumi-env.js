/**
 * The environment of the project's Pulumi CLI, shared by `npm run pulumi` (pulumi.js), the
 * lab scripts and monitor/ (`vpm status`, `preview`, `watch --react`): a local file backend
 * under the project (no cloud login), PULUMI_HOME under the project, .tools/project-bin (the
 * CLI with its nodejs language host applying `typescript: false`) and .tools/bin (the CLI, the
 * host as built, the dynamic-provider launcher) first on PATH, and — for the lab's own
 * stacks only — the lab passphrase when none is set. Every other stack needs
 * PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), and the CLI says so.
 */
'use strict';
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_PASSPHRASE = 'vpm-lab-passphrase';
/** The stacks whose secrets are the lab's own (their Pulumi.<stack>.yaml is committed). */
const LAB_STACKS = ['lab', 'paper', 'failover'];

/**
 * A copy of `base` (default process.env) with the project's Pulumi settings filled in.
 * `stack`: the stack the command is for; the lab passphrase is used only for LAB_STACKS.
 */
function pulumiEnv(base = process.env, stack = undefined) {
  const env = { ...base };
  // .tools/project-bin: the CLI with the language host that applies `typescript: false` (setup.sh).
  env.PATH = `${path.join(ROOT, '.tools', 'project-bin')}:${path.join(ROOT, '.tools', 'bin')}:${env.PATH || ''}`;
  env.PULUMI_BACKEND_URL = env.PULUMI_BACKEND_URL || `file://${path.join(ROOT, '.pulumi-state')}`;
  env.PULUMI_HOME = env.PULUMI_HOME || path.join(ROOT, '.pulumi-home');
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE && LAB_STACKS.includes(stack)) {
    env.PULUMI_CONFIG_PASSPHRASE = LAB_PASSPHRASE;
  }
  env.PULUMI_SKIP_UPDATE_CHECK = 'true';
  env.PULUMI_DIY_BACKEND_NO_LEGACY_WARNING = 'true';
  return env;
}

/** `pulumi stack <verb> NAME` takes the stack as its first word (init, select, rm). */
const STACK_NAME_VERBS = ['init', 'select', 'rm'];

/**
 * The stack a CLI argument list names (`--stack S`, `--stack=S`, `-s S`, or the NAME of
 * `stack init|select|rm NAME`, an `org/` prefix dropped), or undefined. Reads, never rewrites.
 */
function stackInArgs(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '--stack' || a === '-s') && i + 1 < args.length) return args[i + 1];
    if (a.startsWith('--stack=')) return a.slice('--stack='.length);
  }
  if (args[0] === 'stack' && STACK_NAME_VERBS.includes(args[1])) {
    const name = args.slice(2).find((a) => !a.startsWith('-'));
    if (name) return name.split('/').pop();
  }
  return undefined;
}

/** The project's Pulumi CLI (.tools/project-bin: with the host that applies typescript: false); throws (with what to run) when `npm run setup` has not built it. */
function pulumiCli() {
  const cli = path.join(ROOT, '.tools', 'project-bin', 'pulumi');
  if (!fs.existsSync(cli)) throw new Error('the Pulumi CLI is not set up; run `npm run setup` first');
  return cli;
}

/** Creates the file backend's directory (the CLI does not). */
function ensureBackendDir(env) {
  if (env.PULUMI_BACKEND_URL.startsWith('file://')) fs.mkdirSync(env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ''), { recursive: true });
}


module.exports = { ROOT, LAB_PASSPHRASE, LAB_STACKS, pulumiEnv, pulumiCli, ensureBackendDir, stackInArgs };
