/**
 * Posting a preview on a pull request (issue #16), against a small GitHub stand-in on
 * 127.0.0.1 that answers the three REST calls used (list an issue's comments, create one,
 * update one) and records every request: the first run creates ONE comment, the second edits
 * it in place (hidden marker), an oversized preview is trimmed under the limit with a note,
 * a 500 is retried and a 403 is not, a redirect is not followed, and the token never appears in
 * what vpm prints (messages, retry lines, errors).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { GitHubClient, GitHubError } from '../../../monitor/comment/github';
import { appendStepSummary, markerOf, postPreviewComment } from '../../../monitor/comment/post';
import { parseCommentTarget } from '../../../monitor/comment/target';
import { GITHUB_COMMENT_LIMIT, trimForComment } from '../../../monitor/comment/trim';

const TOKEN = 'ghs_S3cr3tT0k3nValue0123456789abcdef';

interface Req {
  method: string;
  url: string;
  auth?: string;
  body?: { body?: string };
}

/** A GitHub stand-in: comments of acme/vpm#7; `fail` answers the next requests with statuses. */
class FakeGitHub {
  readonly requests: Req[] = [];
  comments: Array<{ id: number; body: string; html_url: string }> = [];
  fail: number[] = [];
  redirectTo?: string;
  private nextId = 100;
  private server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const r: Req = { method: req.method!, url: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(data ? { body: JSON.parse(data) } : {}) };
      this.requests.push(r);
      const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(v));
      };
      if (this.redirectTo) return json(301, { message: 'Moved Permanently' }, { location: this.redirectTo });
      const status = this.fail.shift();
      if (status) return json(status, { message: status === 403 ? 'Resource not accessible by integration' : 'boom' });
      if (r.auth !== `Bearer ${TOKEN}`) return json(401, { message: 'Bad credentials' });
      const u = new URL(r.url, 'http://x');
      if (r.method === 'GET' && u.pathname === '/repos/acme/vpm/issues/7/comments') {
        const page = Number(u.searchParams.get('page') ?? 1);
        const per = Number(u.searchParams.get('per_page') ?? 30);
        return json(200, this.comments.slice((page - 1) * per, page * per));
      }
      if (r.method === 'POST' && u.pathname === '/repos/acme/vpm/issues/7/comments') {
        const c = { id: this.nextId++, body: r.body!.body!, html_url: `https://github.example/acme/vpm/pull/7#issuecomment-${this.nextId}` };
        this.comments.push(c);
        return json(201, c);
      }
      const m = /^\/repos\/acme\/vpm\/issues\/comments\/(\d+)$/.exec(u.pathname);
      if (r.method === 'PATCH' && m) {
        const c = this.comments.find((x) => x.id === Number(m[1]));
        if (!c) return json(404, { message: 'Not Found' });
        c.body = r.body!.body!;
        return json(200, c);
      }
      return json(404, { message: 'Not Found' });
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const target = parseCommentTarget('acme/vpm#7');
let gh: FakeGitHub;
let apiUrl: string;
const lines: string[] = [];
const opts = () => ({ token: TOKEN, apiUrl, backoffMs: 10, log: (l: string) => lines.push(l) });

beforeEach(async () => {
  gh = new FakeGitHub();
  apiUrl = await gh.start();
  lines.length = 0;
});
afterEach(() => gh.stop());

describe('one comment per stack, edited in place', () => {
  test('first run creates, second edits the same comment; other comments untouched', async () => {
    gh.comments.push({ id: 1, body: 'LGTM', html_url: 'u1' }, { id: 2, body: `${markerOf('other')}\nanother stack's preview`, html_url: 'u2' });
    const first = await postPreviewComment(target, 'pr-7', '## preview one', opts());
    expect(first.action).toBe('created');
    const second = await postPreviewComment(target, 'pr-7', '## preview two', opts());
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    const mine = gh.comments.filter((c) => c.body.includes(markerOf('pr-7')));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toBe(`${markerOf('pr-7')}\n## preview two`);
    expect(gh.comments.map((c) => c.body).slice(0, 2)).toEqual(['LGTM', `${markerOf('other')}\nanother stack's preview`]);
    expect(gh.requests.map((r) => `${r.method} ${r.url.replace(/\?.*/, '')}`)).toEqual([
      'GET /repos/acme/vpm/issues/7/comments',
      'POST /repos/acme/vpm/issues/7/comments',
      'GET /repos/acme/vpm/issues/7/comments',
      `PATCH /repos/acme/vpm/issues/comments/${first.id}`,
    ]);
  });

  test('the marker is found beyond the first page of comments', async () => {
    for (let i = 0; i < 150; i++) gh.comments.push({ id: i + 1, body: `c${i}`, html_url: '' });
    gh.comments.push({ id: 999, body: `${markerOf('pr-7')}\nold`, html_url: '' });
    const r = await postPreviewComment(target, 'pr-7', 'new', opts());
    expect(r).toMatchObject({ action: 'updated', id: 999 });
    expect(gh.comments).toHaveLength(151);
  });
});

describe('size limit', () => {
  test('an oversized preview is trimmed under 65,536 with a note saying what was cut', async () => {
    const big = ['## VPM preview', '', '### Flows per hop', '', '```diff', ...Array.from({ length: 3000 }, (_, i) => `+ table=0 priority=100 cookie=0x56 udp,tp_dst=${i} actions=output:${i}`), '```', '', '### All resource steps', '', 'x'.repeat(100)].join('\n');
    expect(big.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
    await postPreviewComment(target, 'pr-7', big, opts());
    const body = gh.comments[0]!.body;
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.startsWith(markerOf('pr-7'))).toBe(true);
    expect(body).toMatch(/✂️ \*\*Trimmed\*\*: this preview is [\d,]+ characters and a GitHub comment holds [\d,]+; the last [\d,]+ characters were cut \(Flows per hop \(part\); All resource steps\)/);
    // The open code block is closed before the note, so the note renders as text.
    const beforeNote = body.slice(0, body.indexOf('✂️'));
    expect((beforeNote.match(/^```/gm) ?? []).length % 2).toBe(0);
  });

  test('a preview that fits is posted unchanged', () => {
    expect(trimForComment('short')).toEqual({ body: 'short', cut: 0, sections: [] });
  });

  test('an open <details> is closed', () => {
    const t = trimForComment(['# a', '<details><summary>s</summary>', ...Array.from({ length: 500 }, () => 'y'.repeat(50))].join('\n'), 5000);
    expect(t.body.length).toBeLessThanOrEqual(5000);
    expect(t.body).toContain('</details>');
  });
});

describe('HTTP behaviour', () => {
  test('a 500 is retried (with backoff) and then succeeds', async () => {
    gh.fail = [500, 502];
    const r = await postPreviewComment(target, 'pr-7', 'x', opts());
    expect(r.action).toBe('created');
    expect(gh.requests.filter((q) => q.method === 'GET')).toHaveLength(3);
    expect(lines.filter((l) => /HTTP 50[02]; retrying in \d+ ms/.test(l))).toHaveLength(2);
  });

  test('429 is retried; retries are bounded', async () => {
    gh.fail = [429, 500, 500, 500, 500];
    await expect(new GitHubClient({ ...opts(), attempts: 3 }).listComments('acme', 'vpm', 7)).rejects.toThrow(/GET \/repos\/acme\/vpm\/issues\/7\/comments.* failed with HTTP 500 after 3 attempt\(s\)/);
    expect(gh.requests).toHaveLength(3);
  });

  test('a 403 is not retried and says what the token needs', async () => {
    gh.fail = [403];
    const e = await postPreviewComment(target, 'pr-7', 'x', opts()).catch((x) => x);
    expect(e).toBeInstanceOf(GitHubError);
    expect((e as Error).message).toMatch(/HTTP 403 after 1 attempt\(s\): Resource not accessible by integration \(the token needs pull-requests: write/);
    expect(gh.requests).toHaveLength(1);
  });

  test('a redirect is not followed (the token would go with it)', async () => {
    const other = new FakeGitHub();
    const otherUrl = await other.start();
    try {
      gh.redirectTo = `${otherUrl}/repos/acme/vpm/issues/7/comments`;
      await expect(postPreviewComment(target, 'pr-7', 'x', opts())).rejects.toThrow(/HTTP 301 .*a redirect to .* \(not followed/);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });

  test('a server that does not answer times out, is retried, and fails naming the call', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await expect(new GitHubClient({ token: TOKEN, apiUrl: url, timeoutMs: 200, attempts: 2, backoffMs: 10, log: () => {} }).listComments('acme', 'vpm', 7)).rejects.toThrow(
        /GitHub GET .* failed after 2 attempt\(s\): network error ECONNABORTED/,
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  test('no token: refused before any request, saying where it comes from', () => {
    expect(() => new GitHubClient({ token: '' })).toThrow(/GITHUB_TOKEN is not set/);
  });

  test('the target is parsed strictly', () => {
    expect(parseCommentTarget('acme/vpm#42')).toEqual({ owner: 'acme', repo: 'vpm', issue: 42 });
    for (const bad of ['acme/vpm', 'acme/vpm#0', 'acme/../x#1', 'ac me/vpm#1', 'acme/vpm#1/..', '-acme/vpm#1']) {
      expect(() => parseCommentTarget(bad)).toThrow(/is not OWNER\/REPO#NUMBER/);
    }
  });
});

describe('step summary and the token in output', () => {
  test('appends to $GITHUB_STEP_SUMMARY only when set', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-sum-')), 'summary.md');
    fs.writeFileSync(file, 'before\n');
    expect(appendStepSummary('## preview', { GITHUB_STEP_SUMMARY: file })).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('before\n## preview\n');
    expect(appendStepSummary('## preview', {})).toBe(false);
  });

  test('the token appears in no message, log line or error, whatever fails', async () => {
    const seen: string[] = [];
    const capture = { ...opts(), log: (l: string) => seen.push(l) };
    gh.fail = [500, 403];
    seen.push(String(await postPreviewComment(target, 'pr-7', 'x', capture).catch((e) => `${e.message}\n${e.stack}\n${JSON.stringify(e)}`)));
    gh.redirectTo = 'http://127.0.0.1:1/x';
    seen.push(String(await postPreviewComment(target, 'pr-7', 'x', capture).catch((e) => `${e.message}\n${JSON.stringify(e)}`)));
    gh.redirectTo = undefined;
    seen.push(String(await new GitHubClient({ token: TOKEN, apiUrl: 'http://127.0.0.1:1', attempts: 1, log: (l) => seen.push(l) }).listComments('acme', 'vpm', 7).catch((e) => `${e.message}\n${JSON.stringify(e)}`)));
    expect(seen.join('\n')).toMatch(/HTTP 403|redirect|network error/);
    expect(seen.join('\n')).not.toContain(TOKEN);
    expect(seen.join('\n')).not.toContain(TOKEN.slice(4, 20));
  });
});
