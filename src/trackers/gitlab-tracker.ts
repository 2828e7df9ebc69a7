// GitLab (gitlab.com or a self-managed instance, the tracker's `url`) through @gitbeaker/rest.
import { Gitlab, GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
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

function errorFor(err: unknown, what: string): TrackerError {
  if (err instanceof GitbeakerRetryError)
    return new TrackerError('rate-limited', `${what}: GitLab kept answering 429 (rate limit); try again later`, {
      cause: err,
      status: 429,
    });
  if (err instanceof GitbeakerTimeoutError)
    return new TrackerError('unreachable', `${what}: GitLab did not answer in time`, { cause: err });
  if (!(err instanceof GitbeakerRequestError))
    return new TrackerError('unreachable', `${what}: GitLab could not be reached (${(err as Error).message})`, { cause: err });
  const status = err.cause?.response.status ?? 0;
  const said = err.cause?.description || err.message || 'no details';
  if (status === 401)
    return new TrackerError('no-access', `${what}: GitLab refused the token (401 ${said}); check the tracker token`, {
      cause: err,
      status,
    });
  if (status === 403) return new TrackerError('no-access', `${what}: the token has no access (403 ${said})`, { cause: err, status });
  if (status === 404) return new TrackerError('not-found', `${what}: not found (404), or the token may not see it`, { cause: err, status });
  if (status === 409 || status === 422)
    return new TrackerError('refused', `${what}: GitLab refused it (${status} ${said})`, { cause: err, status });
  if (status >= 500) return new TrackerError('unreachable', `${what}: GitLab answered ${status}`, { cause: err, status });
  return new TrackerError('refused', `${what}: GitLab answered ${status} (${said})`, { cause: err, status });
}

export class GitLabTracker implements Tracker {
  private readonly api: InstanceType<typeof Gitlab<false>>;

  constructor(
    readonly config: TrackerConfig,
    token: string | undefined,
  ) {
    this.api = new Gitlab({ host: this.webBase, token: token ?? '', queryTimeout: 20_000 });
  }

  private get webBase(): string {
    return (this.config.url ?? 'https://gitlab.com').replace(/\/+$/, '');
  }

  async readIssue(issue: number): Promise<TrackerIssue> {
    const what = `issue #${issue} of ${this.config.repo}`;
    try {
      const data = await this.api.Issues.show(issue, { projectId: this.config.repo });
      // Newest first, one page: only the most recent comments matter. System notes ("changed the label") are not comments.
      const notes = await this.api.IssueNotes.all(this.config.repo, issue, {
        sort: 'desc',
        orderBy: 'created_at',
        perPage: 20,
        maxPages: 1,
      });
      const comments = notes
        .filter((n) => !n.system)
        .slice(0, RECENT_COMMENTS)
        .reverse()
        .map((n) => ({ author: String(n.author?.username ?? 'someone'), body: String(n.body ?? ''), createdAt: String(n.created_at) }));
      const labels = (data.labels ?? []) as (string | { name: string })[];
      return {
        number: Number(data.iid),
        title: String(data.title),
        body: String(data.description ?? ''),
        labels: labels.map((l) => (typeof l === 'string' ? l : l.name)),
        comments,
        url: String(data.web_url),
        state: String(data.state),
      };
    } catch (err) {
      throw errorFor(err, what);
    }
  }

  async openPullRequest(draft: PullRequestDraft): Promise<OpenedPullRequest> {
    try {
      const mr = await this.api.MergeRequests.create(this.config.repo, draft.head, draft.base, draft.title, { description: draft.body });
      return { url: String(mr.web_url), number: Number(mr.iid) };
    } catch (err) {
      throw errorFor(err, `the merge request from ${draft.head} into ${draft.base} of ${this.config.repo}`);
    }
  }

  ownsPullRequestUrl(url: string): boolean {
    return pullUrlMatches(url, this.webBase, this.config.repo, 'merge_requests');
  }
}
