/**
 * Posts a stack's preview on a pull request as ONE comment, edited in place on later runs: a
 * hidden marker (an HTML comment naming the stack) finds it, so each stack keeps its own
 * comment. The body is kept under GitHub's limit (trim.ts); the whole preview is appended to
 * the job summary ($GITHUB_STEP_SUMMARY) when that is set.
 */
import * as fs from 'node:fs';
import { GitHubClient, type GitHubOptions } from './github';
import { formatTarget, type CommentTarget } from './target';
import { GITHUB_COMMENT_LIMIT, trimForComment } from './trim';

export function markerOf(stack: string): string {
  return `<!-- vpm-preview stack=${stack} -->`;
}

export interface PostResult {
  readonly action: 'created' | 'updated';
  readonly id: number;
  readonly url?: string;
  /** Characters cut to fit (0: none). */
  readonly cut: number;
}

export async function postPreviewComment(
  target: CommentTarget,
  stack: string,
  markdown: string,
  options: GitHubOptions & { limit?: number },
): Promise<PostResult> {
  const marker = markerOf(stack);
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  const trimmed = trimForComment(markdown, limit - marker.length - 1, process.env.GITHUB_STEP_SUMMARY ? "this job's summary" : '`vpm preview --out FILE`');
  const body = `${marker}\n${trimmed.body}`;
  const gh = new GitHubClient(options);
  const existing = (await gh.listComments(target.owner, target.repo, target.issue)).find((c) => typeof c.body === 'string' && c.body.includes(marker));
  const c = existing
    ? await gh.updateComment(target.owner, target.repo, existing.id, body)
    : await gh.createComment(target.owner, target.repo, target.issue, body);
  return { action: existing ? 'updated' : 'created', id: c.id ?? existing?.id ?? 0, ...(c.html_url ? { url: c.html_url } : {}), cut: trimmed.cut };
}

/** Appends the whole preview to $GITHUB_STEP_SUMMARY when it is set; returns whether it did. */
export function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  fs.appendFileSync(file, `${markdown}\n`);
  return true;
}

export function describePost(target: CommentTarget, r: PostResult): string {
  return `vpm: preview comment ${r.action} on ${formatTarget(target)}${r.url ? ` (${r.url})` : ` (id ${r.id})`}${r.cut ? `; trimmed by ${r.cut} characters to fit` : ''}`;
}
