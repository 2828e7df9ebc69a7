// `fix #58` with no project named and no channel default (DESIGN §2): which of
// the projects this person may use has an issue #58? Every project's tracker is
// asked at once, with the same clients and tokens the runner uses.
import type { Project } from '../domain/project.js';
import { createTracker, TrackerError } from './index.js';
import { trackerTokenName } from './token-names.js';

export type IssueLookupResult =
  /** Projects whose tracker has the issue. */
  { found: Project[]; unknown: Project[] };

export interface IssueLookupDeps {
  /** Where tokens come from (the dispatcher's environment). */
  secrets: Record<string, string | undefined>;
  /** How long all lookups together may take; slower trackers count as unknown. */
  timeoutMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

const DEFAULT_TIMEOUT_MS = 8_000;

/** Projects that can be asked: a GitHub or GitLab tracker. */
export const lookable = (p: Project): boolean => p.tracker !== undefined && p.tracker.type !== 'jira';

/**
 * Asks each project's tracker for the issue. `found`: it exists there;
 * `unknown`: the tracker could not say (unreachable, rate limit, no token
 * access, too slow). A 404 counts as "not there".
 */
export async function findIssueInProjects(projects: readonly Project[], issue: number, deps: IssueLookupDeps): Promise<IssueLookupResult> {
  const timeout = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const asked = projects.filter(lookable).map(async (project): Promise<'found' | 'missing' | 'unknown'> => {
    const t = project.tracker;
    if (!t || t.type === 'jira') return 'missing';
    const name = trackerTokenName(t);
    const tracker = createTracker({ type: t.type, repo: t.repo, ...(t.url ? { url: t.url } : {}) }, name ? deps.secrets[name] : undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'unknown'>((resolve) => (timer = setTimeout(() => resolve('unknown'), timeout)));
    const answer = tracker.readIssue(issue).then(
      () => 'found' as const,
      (err: unknown) => {
        if (err instanceof TrackerError && err.kind === 'not-found') return 'missing' as const;
        deps.log?.(`could not look up #${issue} in ${project.name}'s tracker`, err);
        return 'unknown' as const;
      },
    );
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  });
  const verdicts = await Promise.all(asked);
  const withTracker = projects.filter(lookable);
  return {
    found: withTracker.filter((_, i) => verdicts[i] === 'found'),
    unknown: withTracker.filter((_, i) => verdicts[i] === 'unknown'),
  };
}
