/**
 * The real Pulumi CLI on one stack, for end-to-end tests: the plain CLI through the project's
 * pass-through (test/support/pulumi-cli.ts: local file backend, `--program` and `--json` as the
 * tests use them), results that keep the exit code and both outputs, the `--json` summary, and
 * the resource steps read from the CLI's own text (what preview/up printed, per resource).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stackConfigFile } from '../../lab/stream';
import { ok } from './expect';
import { PROJECT_ROOT, PULUMI_CLI, runPulumi, type Run } from './pulumi-cli';

export { PROJECT_ROOT, PULUMI_CLI, ok, type Run };

export interface Summary {
  changeSummary: Record<string, number>;
  outputs?: Record<string, any>;
}

/** One resource step as the CLI printed it: "+  pulumi-nodejs:dynamic/vpm:FlowPath NAME create". */
export interface Step {
  readonly op: 'create' | 'update' | 'delete' | 'replace' | 'create-replacement' | 'delete-replaced' | 'read' | 'refresh';
  /** The resource type's last part, e.g. "FlowPath". */
  readonly type: string;
  readonly name: string;
}

/** `pulumi ...args` (see pulumi-cli.ts), never throwing: the exit code is part of the result. */
export function pulumi(args: readonly string[], timeoutMs = 180_000): Promise<Run> {
  return runPulumi(args, { timeoutMs });
}

/** The summary line that `--json` adds last (pulumi-cli.ts). */
export function summaryOf(run: Run): Summary {
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Summary;
  } catch {
    throw new Error(`no --json summary at the end of the output of pulumi ${run.args.join(' ')}:\n${run.stdout.slice(-5000)}\n${run.stderr.slice(-5000)}`);
  }
}

const STEP_LINE =
  /^\s*(?:\+-|-\+|\+|-|~|\+>|->|>|<)?\s*pulumi-nodejs:dynamic\/vpm:(\w+)\s+(\S+)\s+(create|update|delete|replace|create-replacement|delete-replaced|read|refresh|creating|created|updating|updated|deleting|deleted|replacing|replaced)\b/;

const PAST: Record<string, Step['op']> = {
  created: 'create',
  creating: 'create',
  updated: 'update',
  updating: 'update',
  deleted: 'delete',
  deleting: 'delete',
  replaced: 'replace',
  replacing: 'replace',
};

/**
 * The VPM resource steps in the CLI's text, in the order printed, each once (up prints
 * "creating" then "created": one step).
 */
export function stepsOf(run: Run): Step[] {
  const seen = new Set<string>();
  const steps: Step[] = [];
  for (const line of run.stdout.split('\n')) {
    const m = STEP_LINE.exec(line);
    if (!m) continue;
    const op = (PAST[m[3]] ?? m[3]) as Step['op'];
    const key = `${op} ${m[1]} ${m[2]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    steps.push({ op, type: m[1], name: m[2] });
  }
  return steps;
}

/** Counts of the summary without "same" (the changes only). */
export function changesOf(s: Summary): Record<string, number> {
  return Object.fromEntries(Object.entries(s.changeSummary).filter(([k, v]) => k !== 'same' && v > 0));
}

/** A stack of this project and the CLI on it. */
export class Stack {
  created = false;

  constructor(readonly name: string) {}

  /** A program command (up, preview, refresh, destroy) on this stack. */
  program(command: 'up' | 'preview' | 'refresh' | 'destroy', ...flags: string[]): Promise<Run> {
    return pulumi([command, '--stack', this.name, ...flags]);
  }

  async init(): Promise<void> {
    ok(await pulumi(['stack', 'init', this.name]));
    this.created = true;
  }

  async configSet(key: string, value: string, opts: { path?: boolean } = {}): Promise<void> {
    ok(await pulumi(['config', 'set', ...(opts.path ? ['--path'] : []), key, value, '--stack', this.name]));
  }

  async configRm(key: string, opts: { path?: boolean } = {}): Promise<void> {
    ok(await pulumi(['config', 'rm', ...(opts.path ? ['--path'] : []), key, '--stack', this.name]));
  }

  /** `stack rm` (also its config file in stacks/) and the backend's leftovers of this stack. */
  async remove(force = false): Promise<void> {
    const r = await pulumi(['stack', 'rm', this.name, '--yes', ...(force ? ['--force'] : [])]);
    if (r.code === 0) {
      this.created = false;
      this.forgetFiles();
    } else if (!force) ok(r);
  }

  /**
   * The teardown of a suite's stack: destroy what a failed test left behind (when `destroy`;
   * `destroyFlags` as the suite's own destroy takes them, its result ignored), then `remove(true)`.
   */
  async tearDown(destroy: boolean, ...destroyFlags: string[]): Promise<void> {
    if (destroy) await this.program('destroy', ...destroyFlags);
    await this.remove(true);
  }

  /**
   * After `stack rm`, the file backend still keeps this stack's backups, history and lock
   * folder; remove them (only paths named after this unique stack) so runs do not pile up.
   */
  forgetFiles(): void {
    const url = process.env.PULUMI_BACKEND_URL ?? `file://${path.join(PROJECT_ROOT, '.pulumi-state')}`;
    if (!url.startsWith('file://')) return;
    const root = path.join(url.slice('file://'.length), '.pulumi');
    for (const p of [
      path.join(root, 'backups', 'vpm', this.name),
      path.join(root, 'history', 'vpm', this.name),
      path.join(root, 'locks', 'organization', 'vpm', this.name),
      path.join(root, 'stacks', 'vpm', `${this.name}.json.bak`),
      path.join(root, 'stacks', 'vpm', `${this.name}.json.bak.attrs`),
    ]) {
      fs.rmSync(p, { recursive: true, force: true });
    }
    fs.rmSync(this.configFile, { force: true });
  }

  /** Its Pulumi.<stack>.yaml (in the project's stackConfigDir). */
  get configFile(): string {
    return stackConfigFile(this.name, PROJECT_ROOT);
  }
}

/**
 * One engine event of a real `up` (the CLI's `--event-log FILE`, offered when
 * PULUMI_DEBUG_COMMANDS=true: one JSON object per line),
 * reduced to what order checks need. `sequence` is the engine's own order of events.
 */
export interface EngineEvent {
  readonly sequence: number;
  /** pre = a resource step began; outputs = it ended; diag = a diagnostic (log line). */
  readonly kind: 'pre' | 'outputs' | 'diag';
  /** The step's op (create, update, delete, same, ...); '' for diagnostics. */
  readonly op: string;
  /** The resource type's last part, e.g. "FlowPath" ('' when the event names none). */
  readonly type: string;
  /** The resource's name (the URN's last part). */
  readonly name: string;
  readonly message?: string;
}

const lastPart = (s: string | undefined, sep: string) => (s ? s.slice(s.lastIndexOf(sep) + 1) : '');

/** The resource steps and diagnostics of an event log, in the engine's order. */
export function engineEvents(file: string): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as {
      sequence: number;
      resourcePreEvent?: { metadata: { op: string; urn: string; type: string } };
      resOutputsEvent?: { metadata: { op: string; urn: string; type: string } };
      diagnosticEvent?: { urn?: string; message: string };
    };
    const step = e.resourcePreEvent ?? e.resOutputsEvent;
    if (step) {
      events.push({ sequence: e.sequence, kind: e.resourcePreEvent ? 'pre' : 'outputs', op: step.metadata.op, type: lastPart(step.metadata.type, ':'), name: lastPart(step.metadata.urn, ':') });
    } else if (e.diagnosticEvent) {
      events.push({ sequence: e.sequence, kind: 'diag', op: '', type: '', name: lastPart(e.diagnosticEvent.urn, ':'), message: e.diagnosticEvent.message });
    }
  }
  return events.sort((a, b) => a.sequence - b.sequence);
}

/** The sequence number of the one event that matches, failing with the log's steps otherwise. */
export function sequenceOf(events: readonly EngineEvent[], want: Pick<EngineEvent, 'kind' | 'op' | 'type' | 'name'>): number {
  const hits = events.filter((e) => e.kind === want.kind && e.op === want.op && e.type === want.type && e.name === want.name);
  if (hits.length !== 1) {
    const steps = events.filter((e) => e.kind !== 'diag').map((e) => `${e.sequence} ${e.kind} ${e.op} ${e.type} ${e.name}`);
    throw new Error(`expected one ${want.kind} event ${want.op} ${want.type} ${want.name}, found ${hits.length}; steps:\n  ${steps.join('\n  ')}`);
  }
  return hits[0].sequence;
}
