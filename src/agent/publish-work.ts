// Publishing a job's work, after its agent: commit what it changed on the
// job's branch, push that branch alone (with the token only as git's header),
// open the pull or merge request, and report it. A pull request the agent
// opened itself for this repository is reported instead.
import type { AgentEventBody } from '../domain/events.js';
import { TrackerError, type Tracker, type TrackerIssue } from '../trackers/index.js';
import { authEnv, commitWork, pushJobBranch } from './git-workspace.js';
import { commitMessageFor, pullRequestBodyFor, titleFor, type PublishContext } from './pull-request-text.js';
import type { RunnerOptions } from './runner-options.js';

export type RunnerOutcome = 'done' | 'failed';

const DEFAULT_AUTHOR = { name: 'Switchboard', email: 'switchboard@localhost' };

/** What the agent left to publish. */
export interface Work {
  tracker: Tracker;
  token?: string;
  issue?: TrackerIssue;
  branch: string;
  base: string;
  summary: string;
  agentPr?: string;
  agentBranch?: string;
  agentCommit?: string;
}

/** How publishing reports, as the runner's `publish` step. */
export interface PublishSteps {
  /** The issue or request, as commit messages and titles name it. */
  ref: string;
  /** git's environment (the runner's, without GIT_* settings). */
  env: NodeJS.ProcessEnv;
  progress(text: string): Promise<void>;
  emit(body: AgentEventBody): Promise<void>;
  fail(reason: string, retryable: boolean): Promise<RunnerOutcome>;
  /** The reason of a cancel that came meanwhile, if one did. */
  cancelled(): string | undefined;
  /** Ends what the agent command left running; returns how many. */
  killStrays(): number;
  log(msg: string): void;
}

/** The runner's git environment: its own, without GIT_* settings (the push adds only the header). */
export function gitEnvOf(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('GIT_')));
}

/**
 * After the agent: commit what it changed on the job's branch, push that
 * branch alone, open the pull/merge request, and report it. A pull request
 * the agent opened itself for this repository is reported instead.
 */
export async function publishWork(o: RunnerOptions, w: Work, step: PublishSteps): Promise<RunnerOutcome> {
  if (w.agentPr && w.tracker.ownsPullRequestUrl(w.agentPr)) {
    await step.progress(`the agent opened ${w.agentPr} itself`);
    await step.emit({ type: 'done', summary: w.summary, prUrl: w.agentPr, branch: w.agentBranch ?? w.branch, commit: w.agentCommit });
    return 'done';
  }
  await step.progress(`committing on ${w.branch}`);
  // Nothing the agent started may outlive it into the push, which holds the token.
  const killed = step.killStrays();
  if (killed) step.log(`ended ${killed} process(es) the agent command left running`);
  const context: PublishContext = {
    issue: o.issue,
    ref: step.ref,
    title: w.issue?.title,
    summary: w.summary,
    requester: o.requester,
    channelName: o.channelName,
    threadUrl: o.threadUrl,
    jobId: o.jobId,
    trackerType: w.tracker.config.type,
  };
  const committed = await commitWork(o.workspaceDir, w.base, {
    author: o.commitAuthor ?? DEFAULT_AUTHOR,
    message: commitMessageFor(context),
    env: step.env,
  });
  if (committed.kind === 'error') return step.fail(committed.reason, false);
  if (committed.kind === 'unchanged') {
    await step.emit({
      type: 'done',
      summary: `No changes: the agent changed no files, so nothing was committed or pushed and no pull request was opened.\n${w.summary}`,
      branch: o.branch,
    });
    return 'done';
  }
  const cancelled = step.cancelled();
  if (cancelled) return step.fail(cancelled, true);
  await step.progress(`pushing ${w.branch}`);
  const pushed = await pushJobBranch(o.workspaceDir, {
    repoUrl: o.repo ?? '',
    branch: w.branch,
    commit: committed.commit,
    env: step.env,
    auth: authEnv(o.repo ?? '', w.tracker.config, w.token),
  });
  if (!pushed.ok) {
    const transient =
      /could not resolve|connection (refused|reset|timed out)|timed out|unable to access/i.test(pushed.reason) &&
      !/40[13]/.test(pushed.reason);
    return step.fail(`the push of ${w.branch} was refused: ${pushed.reason}`, transient);
  }
  const kind = w.tracker.config.type === 'github' ? 'pull request' : 'merge request';
  await step.progress(`opening the ${kind}`);
  try {
    const opened = await w.tracker.openPullRequest({
      head: w.branch,
      base: o.branch,
      title: titleFor(context),
      body: pullRequestBodyFor(context),
    });
    await step.emit({ type: 'done', summary: w.summary, prUrl: opened.url, branch: w.branch, commit: committed.commit });
    return 'done';
  } catch (err) {
    const e = err instanceof TrackerError ? err : new TrackerError('unreachable', (err as Error).message, { cause: err });
    return step.fail(`${w.branch} was pushed, but the ${kind} was refused: ${e.message}`, e.retryable);
  }
}
