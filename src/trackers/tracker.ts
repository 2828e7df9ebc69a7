import { ErrorCode } from '../errors.js';
// The port every issue tracker implements (GitHub, GitLab): read an issue,
// open a pull/merge request. The runner uses it to read the issue and publish
// the agent's work; the dispatcher uses it to find which project has `#58`.
// Errors are one class with a kind, so callers word them without knowing
// which client threw.

/** Where a project's issues live (the catalogue's `tracker:`, validated). */
export interface TrackerConfig {
  type: 'github' | 'gitlab';
  /** `owner/name` (GitHub), `group/sub/name` (GitLab). */
  repo: string;
  /** Web base URL of a self-managed instance (GitHub Enterprise, self-managed GitLab); unset: github.com / gitlab.com. */
  url?: string;
}

export interface IssueComment {
  author: string;
  body: string;
  createdAt: string;
}

export interface TrackerIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  /** The most recent comments, oldest first. */
  comments: IssueComment[];
  url: string;
  /** Pull requests are issues too on GitHub; a request to fix one is still a request about that number. */
  state: string;
}

export interface PullRequestDraft {
  /** The branch with the work. */
  head: string;
  /** The branch it should be merged into. */
  base: string;
  title: string;
  body: string;
}

export interface OpenedPullRequest {
  url: string;
  number: number;
}

export interface Tracker {
  readonly config: TrackerConfig;
  /** The issue with its most recent comments. @throws TrackerError */
  readIssue(issue: number): Promise<TrackerIssue>;
  /** @throws TrackerError */
  openPullRequest(draft: PullRequestDraft): Promise<OpenedPullRequest>;
  /** Whether `url` is a pull (merge) request of this repository, as an agent might print it. */
  ownsPullRequestUrl(url: string): boolean;
}

/**
 * - `not-found`: the issue (or repository) does not exist, or the token may not see it
 *   (GitHub answers 404 for private repositories a token cannot read).
 * - `no-access`: the token is missing, invalid or lacks the rights (401, 403).
 * - `rate-limited`: 403/429 with the rate-limit headers; retryable later.
 * - `refused`: the request was understood and refused (422: a PR for that branch exists, no commits, …).
 * - `unreachable`: network errors and 5xx; retryable.
 */
export type TrackerErrorKind = 'not-found' | 'no-access' | 'rate-limited' | 'refused' | 'unreachable';

export class TrackerError extends Error {
  readonly code = ErrorCode.TrackerFailed;
  constructor(
    readonly kind: TrackerErrorKind,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'TrackerError';
    this.status = options?.status;
  }

  readonly status?: number;

  /** Whether trying the same job again later may help. */
  get retryable(): boolean {
    return this.kind === 'rate-limited' || this.kind === 'unreachable';
  }
}

/** How many of an issue's comments go into the prompt (the most recent ones). */
export const RECENT_COMMENTS = 5;

/** `https://github.com/acme/demo/pull/7` → is it `acme/demo`'s? Case-insensitive, like both hosts. */
export function pullUrlMatches(url: string, webBase: string, repo: string, kind: 'pull' | 'merge_requests'): boolean {
  let parsed: URL;
  let base: URL;
  try {
    parsed = new URL(url);
    base = new URL(webBase);
  } catch {
    return false;
  }
  if (parsed.host.toLowerCase() !== base.host.toLowerCase()) return false;
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = parsed.pathname.toLowerCase();
  const wanted = `${prefix}/${repo}`.toLowerCase();
  const tail = kind === 'pull' ? /^\/pull\/\d+\/?$/ : /^\/(?:-\/)?merge_requests\/\d+\/?$/;
  return path.startsWith(`${wanted}/`) && tail.test(path.slice(wanted.length));
}
