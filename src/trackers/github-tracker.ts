// GitHub (and GitHub Enterprise Server) through @octokit/rest.
import { Octokit } from '@octokit/rest';
import {
  RECENT_COMMENTS,
  TrackerError,
  pullUrlMatches,
  type OpenedPullRequest,
  type PullRequestDraft,
  type Tracker,
  type TrackerConfig,
  type TrackerIssue,
} from './tracker.js';

const PER_PAGE = 100;

interface OctokitFailure {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** github.com's API, or a GitHub Enterprise Server's (`<url>/api/v3`). */
export function githubApiUrl(webUrl: string | undefined): string {
  return webUrl ? `${webUrl.replace(/\/+$/, '')}/api/v3` : 'https://api.github.com';
}

/** What GitHub's error says, in words for the thread: status, message, and the first validation error. */
function errorFor(err: unknown, what: string): TrackerError {
  const e = err as OctokitFailure;
  const status = e.status;
  const headers = e.response?.headers ?? {};
  const data = e.response?.data as { message?: string; errors?: { message?: string; code?: string }[] } | undefined;
  const said =
    [data?.message, ...(data?.errors ?? []).map((x) => x.message ?? x.code)].filter(Boolean).join(': ') || e.message || 'no details';
  if (status === undefined)
    return new TrackerError('unreachable', `${what}: GitHub could not be reached (${e.message ?? String(err)})`, { cause: err });
  if ((status === 403 || status === 429) && (String(headers['x-ratelimit-remaining']) === '0' || headers['retry-after'] !== undefined)) {
    const reset = Number(headers['x-ratelimit-reset']);
    const when = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    return new TrackerError('rate-limited', `${what}: GitHub's rate limit for this token is used up${when}`, { cause: err, status });
  }
  if (status === 401)
    return new TrackerError('no-access', `${what}: GitHub refused the token (401 ${said}); check the tracker token`, {
      cause: err,
      status,
    });
  if (status === 403) return new TrackerError('no-access', `${what}: the token has no access (403 ${said})`, { cause: err, status });
  if (status === 404) return new TrackerError('not-found', `${what}: not found (404), or the token may not see it`, { cause: err, status });
  if (status === 410) return new TrackerError('not-found', `${what}: gone (410 ${said})`, { cause: err, status });
  if (status === 422) return new TrackerError('refused', `${what}: GitHub refused it (422 ${said})`, { cause: err, status });
  if (status >= 500) return new TrackerError('unreachable', `${what}: GitHub answered ${status}`, { cause: err, status });
  return new TrackerError('refused', `${what}: GitHub answered ${status} (${said})`, { cause: err, status });
}

export class GitHubTracker implements Tracker {
  private readonly octokit: Octokit;
  private readonly owner: string;
  private readonly name: string;

  constructor(
    readonly config: TrackerConfig,
    token: string | undefined,
    log: (msg: string) => void = () => undefined,
  ) {
    [this.owner = '', this.name = ''] = config.repo.split('/');
    // No retries or throttling plugins: a refusal is reported at once, with GitHub's reason.
    this.octokit = new Octokit({
      auth: token || undefined,
      baseUrl: githubApiUrl(config.url),
      userAgent: 'switchboard',
      log: { debug: () => undefined, info: () => undefined, warn: (m: string) => log(m), error: () => undefined },
      request: { timeout: 20_000 },
    });
  }

  private get webBase(): string {
    return this.config.url ?? 'https://github.com';
  }

  async readIssue(issue: number): Promise<TrackerIssue> {
    const what = `issue #${issue} of ${this.config.repo}`;
    const repo = { owner: this.owner, repo: this.name };
    try {
      const { data } = await this.octokit.rest.issues.get({ ...repo, issue_number: issue });
      // The API lists comments oldest first: the most recent are on the last page(s).
      const total = data.comments ?? 0;
      const lastPage = Math.max(1, Math.ceil(total / PER_PAGE));
      const pages = lastPage > 1 && total % PER_PAGE < RECENT_COMMENTS && total % PER_PAGE !== 0 ? [lastPage - 1, lastPage] : [lastPage];
      const comments = [];
      if (total > 0) {
        for (const page of pages) {
          const listed = await this.octokit.rest.issues.listComments({ ...repo, issue_number: issue, per_page: PER_PAGE, page });
          comments.push(...listed.data);
        }
      }
      return {
        number: data.number,
        title: data.title,
        body: data.body ?? '',
        labels: data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
        comments: comments
          .slice(-RECENT_COMMENTS)
          .map((c) => ({ author: c.user?.login ?? 'someone', body: c.body ?? '', createdAt: c.created_at })),
        url: data.html_url,
        state: data.state,
      };
    } catch (err) {
      throw errorFor(err, what);
    }
  }

  async openPullRequest(draft: PullRequestDraft): Promise<OpenedPullRequest> {
    try {
      const { data } = await this.octokit.rest.pulls.create({ owner: this.owner, repo: this.name, ...draft });
      return { url: data.html_url, number: data.number };
    } catch (err) {
      throw errorFor(err, `the pull request from ${draft.head} into ${draft.base} of ${this.config.repo}`);
    }
  }

  ownsPullRequestUrl(url: string): boolean {
    return pullUrlMatches(url, this.webBase, this.config.repo, 'pull');
  }
}
