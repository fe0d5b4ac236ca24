/**
 * The three GitHub REST calls a preview comment needs (list an issue's comments, create one,
 * update one), through axios with:
 * - a timeout per request (default 15 s);
 * - bounded retries with exponential backoff (default 4 attempts, 0.5 s doubling, or the
 *   server's Retry-After up to 30 s) on 429, 5xx and network errors only; any other 4xx is the
 *   caller's problem and fails at once;
 * - no redirects followed (maxRedirects 0): a redirect would carry the token to another host;
 * - the token only in the Authorization header, never in an error or log line (errors are
 *   built from the method, the path and the status, never from axios's error, whose config
 *   holds the headers).
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';

export interface GitHubOptions {
  /** GITHUB_TOKEN (the repository token in Actions). */
  readonly token: string;
  /** GITHUB_API_URL; default https://api.github.com. */
  readonly apiUrl?: string;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** Progress lines (retries); never given the token. */
  readonly log?: (line: string) => void;
}

export interface IssueComment {
  readonly id: number;
  readonly body: string;
  readonly html_url?: string;
}

/** A GitHub call that failed for good: method, path, status and GitHub's message only. */
export class GitHubError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    detail: string,
    readonly attempts: number,
  ) {
    super(`GitHub ${method} ${path} failed${status !== undefined ? ` with HTTP ${status}` : ''} after ${attempts} attempt(s): ${detail}`);
  }
}

const retryable = (status: number) => status === 429 || status >= 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function detailOf(r: AxiosResponse): string {
  const data = r.data as { message?: unknown } | string | undefined;
  const msg = typeof data === 'object' && data && typeof data.message === 'string' ? data.message : typeof data === 'string' ? data.slice(0, 200) : '';
  if (r.status >= 300 && r.status < 400) return `a redirect to ${String(r.headers.location ?? '?')} (not followed: it would carry the token elsewhere; set GITHUB_API_URL to the API's own address)`;
  if (r.status === 401) return `${msg || 'bad credentials'} (check GITHUB_TOKEN)`;
  if (r.status === 403 || r.status === 404) return `${msg || 'forbidden'} (the token needs pull-requests: write / issues: write on this repository; a fork's pull request gets a read-only token)`;
  return msg || r.statusText || 'no message';
}

export class GitHubClient {
  private readonly http: AxiosInstance;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly log: (line: string) => void;

  constructor(options: GitHubOptions) {
    if (!options.token) throw new Error('GITHUB_TOKEN is not set: give the repository token (in GitHub Actions: env GITHUB_TOKEN: ${{ github.token }})');
    const apiUrl = options.apiUrl || 'https://api.github.com';
    let base: URL;
    try {
      base = new URL(apiUrl);
    } catch {
      throw new Error(`GITHUB_API_URL ${JSON.stringify(apiUrl)} is not a URL: e.g. https://api.github.com`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`GITHUB_API_URL must be http(s), got ${base.protocol}`);
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.log = options.log ?? ((l) => process.stderr.write(`${l}\n`));
    this.http = axios.create({
      baseURL: apiUrl.replace(/\/+$/, ''),
      timeout: options.timeoutMs ?? 15_000,
      maxRedirects: 0,
      validateStatus: () => true, // every status is judged below
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${options.token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'vpm-preview',
      },
    });
  }

  private async call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, data?: unknown): Promise<T> {
    let last = '';
    let status: number | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      let r: AxiosResponse | undefined;
      try {
        r = await this.http.request({ method, url: path, data });
      } catch (e) {
        // Network error or timeout: only its code, never the error object (its config has the token).
        const code = (e as { code?: unknown }).code;
        last = `network error ${typeof code === 'string' ? code : 'unknown'}`;
        status = undefined;
      }
      if (r) {
        status = r.status;
        if (r.status >= 200 && r.status < 300) return r.data as T;
        last = detailOf(r);
        if (!retryable(r.status)) throw new GitHubError(method, path, r.status, last, attempt);
      }
      if (attempt === this.attempts) break;
      const retryAfter = Number(r?.headers?.['retry-after']);
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : this.backoffMs * 2 ** (attempt - 1);
      this.log(`vpm: GitHub ${method} ${path}: ${status !== undefined ? `HTTP ${status}` : last}; retrying in ${wait} ms (attempt ${attempt + 1} of ${this.attempts})`);
      await sleep(wait);
    }
    throw new GitHubError(method, path, status, last, this.attempts);
  }

  /** Every comment of issue/pull request `issue` (all pages). */
  async listComments(owner: string, repo: string, issue: number): Promise<IssueComment[]> {
    const all: IssueComment[] = [];
    for (let page = 1; page <= 100; page++) {
      const batch = await this.call<IssueComment[]>('GET', `/repos/${owner}/${repo}/issues/${issue}/comments?per_page=100&page=${page}`);
      all.push(...batch);
      if (batch.length < 100) break;
    }
    return all;
  }

  createComment(owner: string, repo: string, issue: number, body: string): Promise<IssueComment> {
    return this.call('POST', `/repos/${owner}/${repo}/issues/${issue}/comments`, { body });
  }

  updateComment(owner: string, repo: string, id: number, body: string): Promise<IssueComment> {
    return this.call('PATCH', `/repos/${owner}/${repo}/issues/comments/${id}`, { body });
  }
}
