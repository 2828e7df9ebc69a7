// Who may start which project from where. Pure rules over the catalogue.
//
// Order matters for what a refusal may say: first whether this person may use
// the project at all (users, admins, other teams), then where from (DMs,
// channels). Only a person who may use the project learns anything about it
// (its channels); everyone else gets the same answer as for a project that
// does not exist, and no one is ever told who its admins are.
import type { Catalogue, Project } from './project.js';

export interface SenderContext {
  /** A direct message with the bot. Default: the channel ID is a DM's (D…). */
  dm?: boolean;
  /** The sender belongs to another Slack team than this workspace's (Slack Connect, external guests). */
  external?: boolean;
}

/** Why a project is refused: `not-listed` and `external` mean this person may not use it at all. */
export type Refusal = 'not-listed' | 'external' | 'dm' | 'channel';

export type Permission =
  | { ok: true }
  | {
      ok: false;
      refusal: Refusal;
      /** Plain text for the requester (no markup, no admins); names only the project they asked for. */
      reason: string;
      /** Where the project may be started instead; only for refusals to people who may use it. */
      channels?: string[];
    };

/** A sender from another team than the workspace that received the event (Slack Connect, external guests). */
export function isExternalSender(senderTeam: string | undefined, workspaceTeam: string | undefined): boolean {
  return senderTeam !== undefined && workspaceTeam !== undefined && senderTeam !== workspaceTeam;
}

/** Slack DM channel IDs start with D. */
export const isDirectMessage = (channel: string): boolean => channel.startsWith('D');

/** Whether the project names this user (as a user or an admin). */
const listed = (p: Project, user: string): boolean => p.users?.includes(user) === true || p.admins.includes(user);

/** Whether this person may use the project at all, from wherever it is allowed. */
export function mayUse(p: Project, user: string, ctx: SenderContext = {}): boolean {
  if (ctx.external) return listed(p, user);
  return p.users === undefined || listed(p, user);
}

/**
 * Whether this user may start a job of `p` from this channel. Admins pass the
 * user check (they run the project) but not the channel check. People from
 * another team pass only when the project lists them. A DM passes only when
 * the project has `allowDMs`.
 */
export function mayDispatch(p: Project, channel: string, user: string, ctx: SenderContext = {}): Permission {
  if (ctx.external && !listed(p, user)) {
    return {
      ok: false,
      refusal: 'external',
      reason: `${p.name} can only be started by people of this workspace, or people it lists by name.`,
    };
  }
  if (!mayUse(p, user, ctx)) {
    return {
      ok: false,
      refusal: 'not-listed',
      reason: `You're not on the list of people who may start ${p.name}. Ask whoever runs Switchboard to add you.`,
    };
  }
  const where = p.channels === undefined ? {} : { channels: [...p.channels] };
  if (ctx.dm ?? isDirectMessage(channel)) {
    if (p.allowDMs) return { ok: true };
    return { ok: false, refusal: 'dm', reason: `${p.name} can't be started from a direct message: ask in a channel.`, ...where };
  }
  if (p.channels !== undefined && !p.channels.includes(channel)) {
    return { ok: false, refusal: 'channel', reason: `${p.name} can't be started from this channel.`, ...where };
  }
  return { ok: true };
}

/** Projects this person may start from this channel, sorted by name. */
export function projectsFor(cat: Catalogue, channel: string, user: string, ctx: SenderContext = {}): Project[] {
  return [...cat.projects.values()].filter((p) => mayDispatch(p, channel, user, ctx).ok).sort((a, b) => a.name.localeCompare(b.name));
}
