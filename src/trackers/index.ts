// Builds the tracker client for a project's `tracker:`.
import { GitHubTracker } from './github-tracker.js';
import { GitLabTracker } from './gitlab-tracker.js';
import type { Tracker, TrackerConfig } from './tracker.js';

export * from './tracker.js';
export { defaultTokenName, trackerTokenName } from './token-names.js';

export function createTracker(config: TrackerConfig, token: string | undefined, log?: (msg: string) => void): Tracker {
  return config.type === 'github' ? new GitHubTracker(config, token, log) : new GitLabTracker(config, token);
}
