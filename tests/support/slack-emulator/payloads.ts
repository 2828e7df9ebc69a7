// Builders for what Slack sends to apps: the Events API `event_callback`
// wrapper, slash command bodies and `block_actions` payloads.
import type { RecordedMessage } from './types.js';

export interface Identity {
  teamId: string;
  teamDomain: string;
  appId: string;
  botUserId: string;
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken: string;
}

export function eventCallback(id: Identity, event: Record<string, unknown>, eventId: string): Record<string, unknown> {
  return {
    token: id.verificationToken,
    team_id: id.teamId,
    context_team_id: id.teamId,
    context_enterprise_id: null,
    api_app_id: id.appId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: id.teamId, user_id: id.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(`${id.teamId}:${eventId}`).toString('base64url')}`,
  };
}

export function slashCommandBody(
  id: Identity,
  c: { channel: string; user: string; text: string; command: string },
  responseUrl: string,
  triggerId: string,
): Record<string, string> {
  return {
    token: id.verificationToken,
    team_id: id.teamId,
    team_domain: id.teamDomain,
    channel_id: c.channel,
    channel_name: `emulated-${c.channel.toLowerCase()}`,
    user_id: c.user,
    user_name: c.user.toLowerCase(),
    command: c.command,
    text: c.text,
    api_app_id: id.appId,
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: triggerId,
  };
}

interface FoundButton {
  block_id?: string;
  text?: unknown;
  value?: string;
  type?: string;
}

/** The element with this action_id in the message's blocks (actions blocks and section accessories). */
function findElement(blocks: unknown[] | undefined, actionId: string): FoundButton | undefined {
  for (const b of blocks ?? []) {
    const block = b as { block_id?: string; elements?: unknown[]; accessory?: unknown };
    for (const el of [...(block.elements ?? []), block.accessory]) {
      const e = el as { action_id?: string; text?: unknown; value?: string; type?: string } | undefined;
      if (e?.action_id === actionId) {
        return {
          ...(block.block_id !== undefined ? { block_id: block.block_id } : {}),
          ...(e.text !== undefined ? { text: e.text } : {}),
          ...(e.value !== undefined ? { value: e.value } : {}),
          ...(e.type !== undefined ? { type: e.type } : {}),
        };
      }
    }
  }
  return undefined;
}

export function blockActionsPayload(
  id: Identity,
  a: { channel: string; user: string; message_ts: string; thread_ts?: string; action_id: string; value?: string; block_id?: string },
  message: RecordedMessage | undefined,
  responseUrl: string,
  triggerId: string,
): Record<string, unknown> {
  const actionTs = (Date.now() / 1000).toFixed(6);
  const found = findElement(message?.blocks, a.action_id);
  const value = a.value ?? found?.value;
  return {
    type: 'block_actions',
    user: { id: a.user, username: a.user.toLowerCase(), name: a.user.toLowerCase(), team_id: id.teamId },
    api_app_id: id.appId,
    token: id.verificationToken,
    container: {
      type: 'message',
      message_ts: a.message_ts,
      channel_id: a.channel,
      is_ephemeral: false,
      ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
    },
    trigger_id: triggerId,
    team: { id: id.teamId, domain: id.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: a.channel, name: `emulated-${a.channel.toLowerCase()}` },
    message: {
      type: 'message',
      ts: a.message_ts,
      text: message?.text ?? '',
      ...(message?.blocks ? { blocks: message.blocks } : {}),
      ...(message?.user ? { user: message.user } : {}),
      ...(message?.bot_id ? { bot_id: message.bot_id, app_id: id.appId } : {}),
      ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
      team: id.teamId,
    },
    state: { values: {} },
    response_url: responseUrl,
    actions: [
      {
        type: found?.type ?? 'button',
        action_id: a.action_id,
        block_id: a.block_id ?? found?.block_id ?? 'emulated-block',
        text: found?.text ?? { type: 'plain_text', text: a.action_id, emoji: true },
        ...(value !== undefined ? { value } : {}),
        action_ts: actionTs,
      },
    ],
  };
}
