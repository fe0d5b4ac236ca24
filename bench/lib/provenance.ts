/**
 * Where a report's figures come from: the full commit, and whether the working tree held
 * anything that commit does not (changed, staged or untracked files). A report is meant to be
 * reproducible from a commit of main, so `npm run bench` refuses a dirty tree unless told
 * `--dirty`, and then the report's first lines say so and list the files.
 */
import { run } from './common';

export interface TreeState {
  /** The full commit hash of HEAD ('unknown' outside git). */
  readonly commit: string;
  /** `git status --porcelain` lines: changed, staged and untracked files (ignored ones are not listed). */
  readonly dirty: readonly string[];
}

/** Parses `git status --porcelain --untracked-files=all` output into its lines. Pure. */
export function dirtyLines(porcelain: string): string[] {
  return porcelain.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);
}

export async function treeState(cwd?: string): Promise<TreeState> {
  const head = await run(['git', 'rev-parse', 'HEAD'], cwd ? { cwd } : {}).catch(() => undefined);
  const status = await run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd ? { cwd } : {}).catch(() => undefined);
  if (!head || head.code !== 0 || !status || status.code !== 0) return { commit: 'unknown', dirty: ['?? (not a git checkout: provenance unknown)'] };
  return { commit: head.stdout.trim(), dirty: dirtyLines(status.stdout) };
}

/** Why the benchmarks refuse to run on this tree, or undefined when they may. Pure. */
export function refusal(state: TreeState, allowDirty: boolean): string | undefined {
  if (!state.dirty.length || allowDirty) return undefined;
  const shown = state.dirty.slice(0, 20).map((l) => `  ${l}`);
  const more = state.dirty.length > 20 ? [`  ... and ${state.dirty.length - 20} more`] : [];
  return [
    `the working tree is not commit ${state.commit}: ${state.dirty.length} changed or untracked file(s):`,
    ...shown,
    ...more,
    'A report must be reproducible from a commit: commit (or stash, or remove) them, or run with --dirty (npm run bench -- --dirty) and the report will say it is not.',
  ].join('\n');
}

/** The report's first lines under its title: the commit, and any uncommitted work. Pure. */
export function provenanceLines(state: TreeState): string[] {
  if (!state.dirty.length) return [`Commit ${state.commit}, working tree clean (no changed or untracked files).`];
  return [
    `**Not reproducible from a commit: run with \`--dirty\` on commit ${state.commit} plus ${state.dirty.length} changed or untracked file(s):** ` +
      state.dirty.slice(0, 20).map((l) => `\`${l}\``).join(', ') +
      (state.dirty.length > 20 ? `, and ${state.dirty.length - 20} more` : '') +
      '.',
  ];
}
