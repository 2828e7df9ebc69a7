// A local server that follows GitHub's REST API (v3, as GitHub Enterprise
// Server serves it under /api/v3) for what Switchboard uses: read an issue
// and its comments, open a pull request. Status codes and bodies as GitHub
// sends them: 401 Bad credentials, 403 without access or with the rate limit
// used up (x-ratelimit-* headers), 404 for what the token may not see, 422
// Validation Failed for a pull request GitHub would refuse.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson, sendJson, TrackerState, type TrackerDoubleOptions } from './tracker-state.js';

const DOCS = 'https://docs.github.com/rest';

export interface GitHubDouble {
  /** Web base, what the catalogue's `tracker.url` is set to (`http://host:port`). */
  url: string;
  state: TrackerState;
  close(): Promise<void>;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^(?:token|bearer)\s+(.+)$/i.exec(auth) : null;
  return m?.[1];
}

export async function startGitHubDouble(options: TrackerDoubleOptions): Promise<GitHubDouble> {
  const state = new TrackerState(options);
  let base = '';
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, { message: String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    state.requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/_double/state') return sendJson(res, 200, { opened: state.opened, requests: state.requests });
    const m = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/(issues|pulls)(?:\/(\d+)(\/comments)?)?\/?$/.exec(url.pathname);
    if (!m) return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS });
    const [, owner = '', name = '', kind, num, comments] = m;
    const repo = `${owner}/${name}`;
    const token = tokenOf(req);
    if (token) state.tokensSeen.add(token);
    const budget = state.spend(token);
    const reset = String(Math.floor(Date.now() / 1000) + 3600);
    const rate = {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(budget.remaining),
      'x-ratelimit-reset': reset,
      'x-ratelimit-used': String(5000 - budget.remaining),
      'x-ratelimit-resource': 'core',
    };
    if (!budget.ok) {
      return sendJson(
        res,
        403,
        {
          message: 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
        },
        rate,
      );
    }
    const access = state.access(token, repo);
    if (access === 'unknown-token') return sendJson(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }, rate);
    // A repository the token may not see does not exist, as far as GitHub says.
    if (!state.hasRepo(repo) || access === 'none')
      return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, rate);

    if (kind === 'issues' && req.method === 'GET' && num) {
      const issue = state.issue(repo, Number(num));
      if (!issue) return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, rate);
      const all = state.commentsOf(issue);
      if (comments) {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const slice = all.slice((page - 1) * perPage, page * perPage);
        return sendJson(
          res,
          200,
          slice.map((c, i) => ({ id: i + 1, body: c.body, user: { login: c.author }, created_at: c.createdAt })),
          rate,
        );
      }
      return sendJson(
        res,
        200,
        {
          number: Number(num),
          title: issue.title,
          body: issue.body,
          state: 'open',
          labels: (issue.labels ?? []).map((l, i) => ({ id: i + 1, name: l })),
          comments: all.length,
          html_url: `${base}/${repo}/issues/${num}`,
        },
        rate,
      );
    }
    if (kind === 'pulls' && req.method === 'POST' && !num) {
      if (access !== 'write') {
        return sendJson(
          res,
          403,
          {
            message: 'Resource not accessible by personal access token',
            documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`,
            status: '403',
          },
          rate,
        );
      }
      const body = await readJson(req);
      const head = String(body.head ?? '');
      const baseBranch = String(body.base ?? '');
      const invalid = (field: string, message: string) =>
        sendJson(
          res,
          422,
          {
            message: 'Validation Failed',
            errors: [{ resource: 'PullRequest', field, code: 'custom', message }],
            documentation_url: DOCS,
            status: '422',
          },
          rate,
        );
      if (!body.title) return invalid('title', 'title is missing');
      if (!state.branchExists(repo, head)) return invalid('head', `head ${head} does not exist`);
      if (!state.branchExists(repo, baseBranch)) return invalid('base', `base ${baseBranch} does not exist`);
      if (state.opened.some((p) => p.repo === repo && p.head === head))
        return invalid('head', `A pull request already exists for ${owner}:${head}.`);
      const number = state.opened.filter((p) => p.repo === repo).length + 1;
      const opened = {
        number,
        repo,
        head,
        base: baseBranch,
        title: String(body.title),
        body: String(body.body ?? ''),
        url: `${base}/${repo}/pull/${number}`,
        by: token ?? '',
      };
      state.opened.push(opened);
      return sendJson(
        res,
        201,
        { number, html_url: opened.url, state: 'open', title: opened.title, head: { ref: head }, base: { ref: baseBranch } },
        rate,
      );
    }
    return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, rate);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  base = options.publicUrl ?? `http://${options.host ?? '127.0.0.1'}:${addr.port}`;
  return {
    url: base,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
