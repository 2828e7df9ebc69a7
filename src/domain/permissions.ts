// Who may start which project from where. Pure rules over the catalogue.
import type { Catalogue, Project } from './project.js';

/**
 * Whether this user may start a job of `p` from this channel. Admins pass the
 * user check (they run the project) but not the channel check. The reason is
 * written for the user in Slack mrkdwn.
 */
export function mayDispatch(p: Project, channel: string, user: string): { ok: true } | { ok: false; reason: string } {
  if (p.channels !== undefined && !p.channels.includes(channel)) {
    const list = p.channels.map((c) => `<#${c}>`).join(', ');
    return { ok: false, reason: `${p.name} can't be started from this channel. Ask in one of: ${list}.` };
  }
  if (p.users !== undefined && !p.users.includes(user) && !p.admins.includes(user)) {
    const who =
      p.admins.length > 0
        ? `one of its admins (${p.admins.map((u) => `<@${u}>`).join(', ')})`
        : 'whoever runs Switchboard';
    return { ok: false, reason: `You're not on the list of people who may start ${p.name}. Ask ${who} to add you.` };
  }
  return { ok: true };
}

/** Projects this channel and user may both use, sorted by name. */
export function projectsFor(cat: Catalogue, channel: string, user: string): Project[] {
  return [...cat.projects.values()]
    .filter((p) => mayDispatch(p, channel, user).ok)
    .sort((a, b) => a.name.localeCompare(b.name));
}
