// Where a tracker's token comes from when the catalogue's `tracker.token` names
// no variable. SWITCHBOARD_* names can never be passed through to an agent
// (the catalogue refuses them in `env:`), so by default the push token cannot
// end up in the agent's environment by accident.

export function defaultTokenName(type: 'github' | 'gitlab'): string {
  return type === 'github' ? 'SWITCHBOARD_GITHUB_TOKEN' : 'SWITCHBOARD_GITLAB_TOKEN';
}

/** The env name holding a tracker's token (jira trackers are not read: none). */
export function trackerTokenName(tracker: { type: 'github' | 'gitlab' | 'jira'; token?: string }): string | undefined {
  if (tracker.token !== undefined) return tracker.token;
  return tracker.type === 'jira' ? undefined : defaultTokenName(tracker.type);
}
