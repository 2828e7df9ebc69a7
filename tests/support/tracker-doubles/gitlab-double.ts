// A local server that follows GitLab's REST API (v4) for what Switchboard
// uses: an issue, its notes, opening a merge request. Tokens come as
// PRIVATE-TOKEN or a bearer token. Answers as GitLab gives them: 401
// Unauthorized, 403 Forbidden, 404 Project/Issue Not Found, 409 when an open
// merge request for the branch exists, 422 for an invalid one, 429 with the
// RateLimit-* and Retry-After headers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson, sendJson, TrackerState, type TrackerDoubleOptions } from './tracker-state.js';

export interface GitLabDouble {
  url: string;
  state: TrackerState;
  close(): Promise<void>;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const priv = req.headers['private-token'];
  if (typeof priv === 'string' && priv) return priv;
  const m = req.headers.authorization ? /^bearer\s+(.+)$/i.exec(req.headers.authorization) : null;
  return m?.[1];
}

export async function startGitLabDouble(options: TrackerDoubleOptions): Promise<GitLabDouble> {
  const state = new TrackerState(options);
  let base = '';
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, { message: String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    // GitLab takes a project path URL-encoded as one segment: group%2Fsub%2Fname.
    const path = url.pathname;
    state.requests.push(`${req.method} ${path}`);
    if (path === '/_double/state') return sendJson(res, 200, { opened: state.opened, requests: state.requests });
    const m = /^\/api\/v4\/projects\/([^/]+)\/(issues|merge_requests)(?:\/(\d+)(\/notes)?)?\/?$/.exec(path);
    if (!m) return sendJson(res, 404, { error: '404 Not Found' });
    const [, encoded = '', kind, num, notes] = m;
    const repo = decodeURIComponent(encoded);
    const token = tokenOf(req);
    if (token) state.tokensSeen.add(token);
    const budget = state.spend(token);
    const reset = Math.floor(Date.now() / 1000) + 60;
    const rate = {
      'ratelimit-limit': '600',
      'ratelimit-remaining': String(budget.remaining),
      'ratelimit-reset': String(reset),
      'ratelimit-observed': String(600 - budget.remaining),
    };
    if (!budget.ok)
      return sendJson(
        res,
        429,
        { message: 'Retry later' },
        { ...rate, 'retry-after': '60', 'ratelimit-resettime': new Date(reset * 1000).toUTCString() },
      );
    const access = state.access(token, repo);
    if (access === 'unknown-token') return sendJson(res, 401, { message: '401 Unauthorized' }, rate);
    if (!state.hasRepo(repo)) return sendJson(res, 404, { message: '404 Project Not Found' }, rate);
    if (access === 'none') return sendJson(res, 403, { message: '403 Forbidden' }, rate);

    if (kind === 'issues' && req.method === 'GET' && num) {
      const issue = state.issue(repo, Number(num));
      if (!issue) return sendJson(res, 404, { message: '404 Issue Not Found' }, rate);
      if (notes) {
        const all = state
          .commentsOf(issue)
          .map((c, i) => ({ id: i + 1, body: c.body, author: { username: c.author }, created_at: c.createdAt, system: false }));
        // A system note, as GitLab interleaves them ("added ~bug label"): not a comment.
        all.push({ id: 999, body: 'added ~bug label', author: { username: 'gitlab' }, created_at: '2026-01-02T00:00:00Z', system: true });
        const desc = url.searchParams.get('sort') !== 'asc';
        all.sort((a, b) => (desc ? -1 : 1) * a.created_at.localeCompare(b.created_at));
        const perPage = Number(url.searchParams.get('per_page') ?? 20);
        return sendJson(res, 200, all.slice(0, perPage), {
          ...rate,
          'x-total': String(all.length),
          'x-total-pages': '1',
          'x-page': '1',
          'x-per-page': String(perPage),
        });
      }
      return sendJson(
        res,
        200,
        {
          iid: Number(num),
          title: issue.title,
          description: issue.body,
          labels: issue.labels ?? [],
          state: 'opened',
          web_url: `${base}/${repo}/-/issues/${num}`,
        },
        rate,
      );
    }
    if (kind === 'merge_requests' && req.method === 'POST' && !num) {
      if (access !== 'write') return sendJson(res, 403, { message: '403 Forbidden' }, rate);
      const body = await readJson(req);
      const source = String(body.source_branch ?? '');
      const target = String(body.target_branch ?? '');
      if (!body.title) return sendJson(res, 400, { error: 'title is missing' }, rate);
      if (!state.branchExists(repo, source)) return sendJson(res, 422, { message: ['Source branch does not exist'] }, rate);
      if (!state.branchExists(repo, target)) return sendJson(res, 422, { message: ['Target branch does not exist'] }, rate);
      const existing = state.opened.find((p) => p.repo === repo && p.head === source);
      if (existing)
        return sendJson(
          res,
          409,
          { message: [`Another open merge request already exists for this source branch: !${existing.number}`] },
          rate,
        );
      const iid = state.opened.filter((p) => p.repo === repo).length + 1;
      const opened = {
        number: iid,
        repo,
        head: source,
        base: target,
        title: String(body.title),
        body: String(body.description ?? ''),
        url: `${base}/${repo}/-/merge_requests/${iid}`,
        by: token ?? '',
      };
      state.opened.push(opened);
      return sendJson(
        res,
        201,
        { iid, web_url: opened.url, state: 'opened', title: opened.title, source_branch: source, target_branch: target },
        rate,
      );
    }
    return sendJson(res, 404, { error: '404 Not Found' }, rate);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  base = options.publicUrl ?? `http://${options.host ?? '127.0.0.1'}:${addr.port}`;
  return { url: base, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
