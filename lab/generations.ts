/**
 * Which stacks were deployed on which lab. Every `lab up` makes a new lab generation (new host
 * keys, inventory.ts `generation`); a stack deployed on the lab is recorded with the generation
 * it was deployed on, in `<lab dir>/stacks/<stack>.json` (kept by `lab down`, like the caches,
 * and by a restart). A stack whose state holds resources recorded on another generation than
 * the running lab's pins host keys that no longer exist: every `up`, `refresh` and `destroy`
 * on it would fail with a host key mismatch, so it must be destroyed while its lab runs or
 * forgotten once it is gone. This module holds the records and the pure decisions; the Pulumi
 * CLI calls are in stack-state.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { STACK_NAME_RE, checkStackName } from '../monitor/pulumi';
import { writeFileAtomic } from './inventory';
import { LabPaths } from './names';

const RecordSchema = z.strictObject({
  stack: z.string().regex(STACK_NAME_RE),
  generation: z.string().regex(/^[0-9a-f]{16}$/),
  recordedAt: z.iso.datetime(),
});
export type DeploymentRecord = z.infer<typeof RecordSchema>;

function recordsDir(paths: LabPaths): string {
  return path.join(paths.dir, 'stacks');
}

function recordFile(paths: LabPaths, stack: string): string {
  return path.join(recordsDir(paths), `${checkStackName(stack)}.json`);
}

/** The record of one stack, undefined when it has none (or an unreadable one: treated as none). */
export function readRecord(stack: string, paths: LabPaths = LabPaths.default()): DeploymentRecord | undefined {
  try {
    return RecordSchema.parse(JSON.parse(fs.readFileSync(recordFile(paths, stack), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Every stack recorded in this lab folder, by name. */
export function readRecords(paths: LabPaths = LabPaths.default()): DeploymentRecord[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(recordsDir(paths)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .map((n) => n.slice(0, -'.json'.length))
    .filter((s) => STACK_NAME_RE.test(s))
    .map((s) => readRecord(s, paths))
    .filter((r): r is DeploymentRecord => r !== undefined)
    .sort((a, b) => a.stack.localeCompare(b.stack));
}

/** Records that `stack` deploys on the lab of `generation`. */
export function recordDeployment(stack: string, generation: string, paths: LabPaths = LabPaths.default()): DeploymentRecord {
  const record = RecordSchema.parse({ stack: checkStackName(stack), generation, recordedAt: new Date().toISOString() });
  fs.mkdirSync(recordsDir(paths), { recursive: true });
  writeFileAtomic(recordFile(paths, stack), JSON.stringify(record, null, 2) + '\n');
  return record;
}

export function forgetRecord(stack: string, paths: LabPaths = LabPaths.default()): void {
  fs.rmSync(recordFile(paths, stack), { force: true });
}

/** What to do with one recorded stack when its lab goes down. */
export type DownAction =
  /** Its lab runs: `pulumi destroy` it (and forget what a failed destroy leaves). */
  | { readonly kind: 'destroy'; readonly stack: string }
  /** Its lab is gone (restart, earlier generation): remove its resources from the state. */
  | { readonly kind: 'forget'; readonly stack: string; readonly why: string };

/**
 * The plan of `lab down`: each recorded stack (or only `only`) is destroyed when it was deployed
 * on the running, reachable lab, and forgotten otherwise. Stacks without a record are never
 * touched (they were not deployed through the lab's commands: maybe real hosts).
 */
export function planLabDown(
  records: readonly DeploymentRecord[],
  lab: { readonly generation?: string; readonly reachable: boolean },
  only?: string,
): DownAction[] {
  return records
    .filter((r) => only === undefined || r.stack === only)
    .map((r): DownAction => {
      if (lab.reachable && lab.generation === r.generation) return { kind: 'destroy', stack: r.stack };
      const why =
        lab.generation === undefined || !lab.reachable
          ? `its lab (generation ${r.generation}) is not running or not reachable`
          : `it was deployed on an earlier lab (generation ${r.generation}; the running lab is ${lab.generation})`;
      return { kind: 'forget', stack: r.stack, why };
    });
}

/** Whether a stack's state may be used on the running lab. */
export type StackVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'stale'; readonly reason: string };

/**
 * A stack whose state holds resources may run `up` on the lab only when it was recorded on
 * this very generation. With resources and no record, or a record of another generation, its
 * state pins an earlier lab's host keys: stale.
 */
export function stackVerdict(stack: string, resources: number, record: DeploymentRecord | undefined, generation: string | undefined): StackVerdict {
  if (resources === 0) return { kind: 'ok' };
  if (record && generation !== undefined && record.generation === generation) return { kind: 'ok' };
  const where = record ? `an earlier lab (generation ${record.generation})` : 'a lab this folder has no record of';
  return { kind: 'stale', reason: `stack "${stack}" holds ${resources} resource(s) deployed on ${where}; their pinned host keys belong to hypervisors that no longer exist` };
}

/** The one command that resets a stale lab stack. */
export function resetCommand(stack: string): string {
  return `npx vpm lab forget --stack ${stack}`;
}
