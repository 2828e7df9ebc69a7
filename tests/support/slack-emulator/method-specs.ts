// Which Web API methods the emulator knows, their rate-limit tier and their
// required arguments. The required arguments come from Slack's OpenAPI
// description (../shared/slack/slack_web_openapi_v2_without_examples.json,
// every `required: true` formData/query parameter except `token`); the
// integration test checks this table against that file. Where the 2021
// description is silent but Slack does check (chat.delete, conversations.info)
// the argument is added by hand and marked `documented: false`.

export type Tier = 1 | 2 | 3 | 4 | 'special';

export interface RequiredArg {
  name: string;
  /** The error Slack answers when this argument is missing. */
  error: string;
  /** false when the OpenAPI description does not list the argument as required. */
  documented: boolean;
}

export interface MethodSpec {
  tier: Tier;
  /** The token kind the method accepts. */
  token: 'bot' | 'app';
  required: RequiredArg[];
}

/** calls per minute for each tier (per method, per workspace). */
export const TIER_LIMITS: Record<1 | 2 | 3 | 4, number> = { 1: 1, 2: 20, 3: 50, 4: 100 };

/** chat.postMessage: about one per second per channel, with a short burst allowance. */
export const POST_MESSAGE_BURST = 5;
export const POST_MESSAGE_PER_SECOND = 1;

const channel: RequiredArg = { name: 'channel', error: 'channel_not_found', documented: true };

export const METHOD_SPECS: Record<string, MethodSpec> = {
  'auth.test': { tier: 4, token: 'bot', required: [] },
  // Tier 1 in Slack; far too strict for tests, so treated as Tier 4.
  'apps.connections.open': { tier: 4, token: 'app', required: [] },
  'chat.postMessage': { tier: 'special', token: 'bot', required: [channel] },
  'chat.update': {
    tier: 3,
    token: 'bot',
    required: [channel, { name: 'ts', error: 'message_not_found', documented: true }],
  },
  'chat.postEphemeral': {
    tier: 4,
    token: 'bot',
    required: [channel, { name: 'user', error: 'user_not_in_channel', documented: true }],
  },
  'chat.getPermalink': {
    tier: 4,
    token: 'bot',
    required: [channel, { name: 'message_ts', error: 'message_not_found', documented: true }],
  },
  'chat.delete': {
    tier: 3,
    token: 'bot',
    required: [
      { name: 'channel', error: 'channel_not_found', documented: false },
      { name: 'ts', error: 'message_not_found', documented: false },
    ],
  },
  'reactions.add': {
    tier: 3,
    token: 'bot',
    required: [
      channel,
      { name: 'name', error: 'invalid_name', documented: true },
      { name: 'timestamp', error: 'message_not_found', documented: true },
    ],
  },
  'users.info': {
    tier: 4,
    token: 'bot',
    // Slack's OpenAPI description leaves `user` optional; Slack answers user_not_found without it.
    required: [{ name: 'user', error: 'user_not_found', documented: false }],
  },
  'conversations.info': {
    tier: 3,
    token: 'bot',
    required: [{ name: 'channel', error: 'channel_not_found', documented: false }],
  },
};
