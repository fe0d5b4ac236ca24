/**
 * The environment of the project's Pulumi CLI, shared by the `npm run pulumi` driver
 * (pulumi.js) and the programs that use the Automation API themselves (monitor/: `vpm status`,
 * `preview`, `watch --react`): a local file backend under the project (no cloud login),
 * PULUMI_HOME under the project, the lab passphrase when none is set, and .tools/bin on PATH.
 */
'use strict';
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_PASSPHRASE = 'vpm-lab-passphrase';

/** A copy of `base` (default process.env) with the project's Pulumi settings filled in. */
function pulumiEnv(base = process.env) {
  const env = { ...base };
  env.PATH = `${path.join(ROOT, '.tools', 'bin')}:${env.PATH || ''}`;
  env.PULUMI_BACKEND_URL = env.PULUMI_BACKEND_URL || `file://${path.join(ROOT, '.pulumi-state')}`;
  env.PULUMI_HOME = env.PULUMI_HOME || path.join(ROOT, '.pulumi-home');
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    env.PULUMI_CONFIG_PASSPHRASE = LAB_PASSPHRASE;
  }
  env.PULUMI_SKIP_UPDATE_CHECK = 'true';
  env.PULUMI_DIY_BACKEND_NO_LEGACY_WARNING = 'true';
  return env;
}

/** The project's Pulumi CLI; throws (with what to run) when `npm run setup` has not built it. */
function pulumiCli() {
  const cli = path.join(ROOT, '.tools', 'bin', 'pulumi');
  if (!fs.existsSync(cli)) throw new Error('the Pulumi CLI is not set up; run `npm run setup` first');
  return cli;
}

/** Creates the file backend's directory (the CLI does not). */
function ensureBackendDir(env) {
  if (env.PULUMI_BACKEND_URL.startsWith('file://')) fs.mkdirSync(env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ''), { recursive: true });
}

/**
 * The project settings, passed explicitly to the Automation API: when it cannot read
 * Pulumi.yaml it writes a default one (losing stackConfigDir), so it is never left to guess.
 * Keep in step with Pulumi.yaml.
 */
const PROJECT_SETTINGS = {
  name: 'vpm',
  runtime: 'nodejs',
  description: 'VPM streaming trees. Programs run through `npm run pulumi` (lab/setup/pulumi.js); see README.',
  stackConfigDir: 'stacks',
};

module.exports = { ROOT, LAB_PASSPHRASE, PROJECT_SETTINGS, pulumiEnv, pulumiCli, ensureBackendDir };
