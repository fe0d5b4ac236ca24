#!/usr/bin/env node
/**
 * `npm run pulumi -- <args>`: the plain Pulumi CLI (.tools/bin, built by `npm run setup`)
 * with this project's local file backend (.pulumi-state/) and PULUMI_HOME (.pulumi-home/).
 * The arguments reach the CLI untouched: `up` previews and asks before it changes anything,
 * exactly as `pulumi up` does (`--yes` to skip the question). The lab's passphrase is filled
 * in only for the lab's own stacks (pulumi-env.js); any other stack needs
 * PULUMI_CONFIG_PASSPHRASE (or _FILE), as with the plain CLI.
 */
'use strict';
const { spawnSync } = require('child_process');
const { pulumiEnv, pulumiCli, ensureBackendDir, stackInArgs } = require('./pulumi-env');

let cli;
try {
  cli = pulumiCli();
} catch (e) {
  console.error(`pulumi: ${e.message}`);
  process.exit(1);
}
const args = process.argv.slice(2);
const env = pulumiEnv(process.env, stackInArgs(args));
ensureBackendDir(env);
const r = spawnSync(cli, args, { stdio: 'inherit', env });
process.exit(r.status === null ? 1 : r.status);
