#!/usr/bin/env node
/**
 * `npm run pulumi -- <args>`: the project's Pulumi CLI, with a local file backend under the
 * project (no cloud login) and a passphrase from the environment (lab default documented in
 * the README).
 *
 * Why a driver: the nodejs language host (pulumi-language-nodejs) cannot be built here (the
 * Go module proxy refuses the untagged module), so `up`, `preview`, `refresh` and `destroy`
 * run through the Automation API with an inline program: the program module
 * (default dist/stacks/main.js) is loaded in this process, which serves as the language host.
 * Every other command (version, stack, config, ...) goes straight to the CLI.
 */
'use strict';
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

// The environment (backend, PULUMI_HOME, passphrase, PATH) is shared with monitor/ (vpm status, preview, watch).
const { ROOT, PROJECT_SETTINGS, pulumiEnv, pulumiCli } = require('./pulumi-env');
const PROGRAM_COMMANDS = new Set(['up', 'update', 'preview', 'refresh', 'destroy']);
const DEFAULT_PROGRAM = 'dist/stacks/main.js';

function ensureTools() {
  try {
    return pulumiCli();
  } catch (e) {
    console.error(`pulumi: ${e.message}`);
    process.exit(1);
  }
}

function passThrough(args) {
  const env = pulumiEnv();
  fs.mkdirSync(env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ''), { recursive: true });
  const r = spawnSync(ensureTools(), args, { stdio: 'inherit', env, cwd: process.cwd() });
  process.exit(r.status === null ? 1 : r.status);
}

function loadProgram(modulePath) {
  const abs = path.resolve(ROOT, modulePath);
  if (!fs.existsSync(abs)) {
    throw new Error(`program module ${modulePath} not found; run \`npm run build\` (programs run from dist/)`);
  }
  const mod = require(abs);
  const program = mod.default || mod.program;
  if (typeof program !== 'function') {
    throw new Error(`program module ${modulePath} must export a default function (the Pulumi program)`);
  }
  return program;
}

async function runProgramCommand(command, rest) {
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      stack: { type: 'string', short: 's' },
      program: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'skip-preview': { type: 'boolean' },
      diff: { type: 'boolean' },
      'expect-no-changes': { type: 'boolean' },
      refresh: { type: 'boolean', short: 'r' },
      target: { type: 'string', multiple: true, short: 't' },
      parallel: { type: 'string', short: 'p' },
      json: { type: 'boolean', short: 'j' },
      message: { type: 'string', short: 'm' },
    },
  });
  if (!values.stack) throw new Error('--stack NAME is required (e.g. --stack lab)');
  ensureTools();
  const env = pulumiEnv();
  Object.assign(process.env, env); // the in-process program and providers see the same env
  fs.mkdirSync(env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ''), { recursive: true });
  const { LocalWorkspace } = require(path.join(ROOT, 'node_modules', '@pulumi', 'pulumi', 'automation'));
  const program = loadProgram(values.program || DEFAULT_PROGRAM);
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: values.stack, projectName: 'vpm', program },
    { workDir: ROOT, envVars: env, pulumiHome: env.PULUMI_HOME, projectSettings: PROJECT_SETTINGS },
  );
  const common = {
    onOutput: (s) => process.stdout.write(s),
    onError: (s) => process.stderr.write(s),
    target: values.target,
    parallel: values.parallel ? Number(values.parallel) : undefined,
    diff: values.diff,
    message: values.message,
  };
  let result;
  switch (command) {
    case 'up':
    case 'update':
      result = await stack.up({ ...common, expectNoChanges: values['expect-no-changes'], refresh: values.refresh });
      break;
    case 'preview':
      result = await stack.preview({ ...common, expectNoChanges: values['expect-no-changes'], refresh: values.refresh });
      break;
    case 'refresh':
      result = await stack.refresh({ ...common, expectNoChanges: values['expect-no-changes'] });
      break;
    case 'destroy':
      result = await stack.destroy(common);
      break;
  }
  if (values.json) {
    const summary = { changeSummary: result.changeSummary || (result.summary && result.summary.resourceChanges) };
    if (result.outputs) summary.outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.secret ? '[secret]' : v.value]));
    console.log(JSON.stringify(summary));
  }
}

async function main() {
  const args = process.argv.slice(2);
  const command = args[0];
  if (!command || !PROGRAM_COMMANDS.has(command)) return passThrough(args);
  try {
    await runProgramCommand(command, args.slice(1));
  } catch (err) {
    // CommandError from the Automation API carries the CLI's own output; print its message only.
    console.error(`pulumi ${command} failed: ${err && err.message ? err.message : err}`);
    process.exitCode = 1;
  }
}

main();
