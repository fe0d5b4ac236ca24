/**
 * Where a preview comment goes: `OWNER/REPO#N` (a pull request or issue), parsed strictly: the
 * parts end up in URL paths, so only GitHub's own characters pass.
 */
export interface CommentTarget {
  readonly owner: string;
  readonly repo: string;
  readonly issue: number;
}

const TARGET_RE = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})#([1-9]\d{0,9})$/;

export function parseCommentTarget(value: string): CommentTarget {
  const m = TARGET_RE.exec(value);
  if (!m || m[2] === '.' || m[2] === '..') {
    throw new Error(
      `--comment ${JSON.stringify(value)} is not OWNER/REPO#NUMBER: e.g. acme/vpm#42 (owner: letters, digits, '-'; repo: letters, digits, . _ -; the pull request's number)`,
    );
  }
  return { owner: m[1]!, repo: m[2]!, issue: Number(m[3]) };
}

export function formatTarget(t: CommentTarget): string {
  return `${t.owner}/${t.repo}#${t.issue}`;
}
