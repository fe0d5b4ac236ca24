/**
 * The stacks' side of the lab's lifecycle (records and decisions: generations.ts; Pulumi CLI:
 * stack-state.ts):
 *   releaseStacks   before `lab down`: destroy what the recorded stacks deployed on the running
 *                   lab, forget (remove from state, saying so) what sits on a lab that is gone;
 *   checkStack      before `lab up --stack S` / an `up` on the lab: refuse a state of an earlier
 *                   lab generation with the one command that resets it, or (reset: true, only
 *                   for the lab's own stacks) reset it here, saying so;
 *   claimStack      record that S deploys on the running lab.
 * Stacks the lab has no record of are never destroyed or forgotten by `lab down`.
 */
import { LabError, messageOf } from './errors';
import { forgetRecord, planLabDown, readRecord, readRecords, recordDeployment, resetCommand, stackVerdict } from './generations';
import { generationOf, readInventory } from './inventory';
import { LabSite } from './names';
import { destroyStack, forgetStackResources, stackResourceCount } from './stack-state';
import { labStatus } from './status';

type Log = (line: string) => void;
const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);

/** The running lab's generation, and whether all of it answers (namespaces and daemons alive). */
export async function currentLab(site: LabSite = LabSite.plain()): Promise<{ generation?: string; reachable: boolean }> {
  const status = await labStatus(site);
  if (!status.inventory) return { reachable: false };
  return { generation: generationOf(status.inventory), reachable: status.healthy };
}

export interface ReleaseReport {
  readonly destroyed: string[];
  /** Stack -> resources removed from its state without touching any host. */
  readonly forgotten: Record<string, number>;
}

/** Destroys or forgets what the recorded stacks (or only `only`) deployed on the lab. */
export async function releaseStacks(options: { only?: string; log?: Log; site?: LabSite } = {}): Promise<ReleaseReport> {
  const log = options.log ?? defaultLog;
  const site = options.site ?? LabSite.plain();
  const paths = site.paths;
  const lab = await currentLab(site);
  const actions = planLabDown(readRecords(paths), lab, options.only);
  const report: ReleaseReport = { destroyed: [], forgotten: {} };
  for (const a of actions) {
    if (a.kind === 'destroy') {
      log(`lab: destroying what stack ${a.stack} deployed on this lab (pulumi destroy --stack ${a.stack})`);
      const r = await destroyStack(a.stack);
      if (r.code === 0) {
        report.destroyed.push(a.stack);
        forgetRecord(a.stack, paths);
        continue;
      }
      const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-6).join('\n  ');
      log(`lab: pulumi destroy --stack ${a.stack} failed (exit ${r.code}); the lab goes down anyway, so its resources go with it:\n  ${tail}`);
    } else {
      log(`lab: stack ${a.stack}: ${a.why}`);
    }
    const n = await forgetStackResources(a.stack);
    report.forgotten[a.stack] = n;
    forgetRecord(a.stack, paths);
    log(`lab: forgot stack ${a.stack}: ${n} resource(s) removed from its state (nothing on any host was touched; the stack and its config stay)`);
  }
  return report;
}

/**
 * Throws (with the reset command) when `stack`'s state belongs to another lab generation than
 * the running one; with `reset`, forgets that state instead and says so.
 */
export async function checkStack(stack: string, options: { reset?: boolean; log?: Log; site?: LabSite } = {}): Promise<void> {
  const log = options.log ?? defaultLog;
  const site = options.site ?? LabSite.plain();
  const paths = site.paths;
  const lab = await currentLab(site);
  const record = readRecord(stack, paths);
  if (record && lab.reachable && record.generation === lab.generation) return; // deployed on this very lab
  const verdict = stackVerdict(stack, await stackResourceCount(stack), record, lab.reachable ? lab.generation : undefined);
  if (verdict.kind === 'ok') return;
  if (!options.reset) {
    throw new LabError(`${verdict.reason}. Reset it (its resources are removed from the state; no host is touched) with one command:\n  ${resetCommand(stack)}`);
  }
  const n = await forgetStackResources(stack);
  forgetRecord(stack, paths);
  log(`lab: ${verdict.reason}: reset, ${n} resource(s) removed from its state (nothing on any host was touched)`);
}

/** Records that `stack` deploys on the running lab (after checking its state may). */
export async function claimStack(stack: string, options: { reset?: boolean; log?: Log; site?: LabSite } = {}): Promise<void> {
  const paths = (options.site ?? LabSite.plain()).paths;
  let generation: string;
  try {
    generation = generationOf(readInventory(paths.inventory));
  } catch (e) {
    throw new LabError(`no lab is running to deploy stack ${stack} on (${messageOf(e)})`);
  }
  await checkStack(stack, options);
  recordDeployment(stack, generation, paths);
}

/**
 * `vpm lab forget --stack S`: removes S's resources from its state because their lab is gone.
 * Refused while S is recorded on the running, reachable lab (destroy it instead).
 */
export async function forgetStack(stack: string, options: { log?: Log; site?: LabSite } = {}): Promise<number> {
  const log = options.log ?? defaultLog;
  const site = options.site ?? LabSite.plain();
  const paths = site.paths;
  const lab = await currentLab(site);
  const record = readRecord(stack, paths);
  if (record && lab.reachable && record.generation === lab.generation) {
    throw new LabError(
      `stack ${stack} is deployed on the running lab: destroy it (\`npm run pulumi -- destroy --stack ${stack}\`, or \`npx vpm lab down --stack ${stack}\` with the lab) instead of forgetting it`,
    );
  }
  const n = await forgetStackResources(stack);
  forgetRecord(stack, paths);
  log(
    n > 0
      ? `lab: forgot stack ${stack}: ${n} resource(s) removed from its state (nothing on any host was touched; the stack and its config stay)`
      : `lab: stack ${stack} holds no resources: nothing to forget`,
  );
  return n;
}
