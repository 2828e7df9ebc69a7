import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

// ajv-formats is CommonJS: under ESM its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const schema = JSON.parse(readFileSync(new URL('../../../../shared/slack/manifest.schema.1.0.0.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;
const manifest = parse(readFileSync(new URL('../../../slack-app-manifest.yml', import.meta.url), 'utf8')) as {
  display_information: { name: string };
  features: { bot_user: { display_name: string }; slash_commands: { command: string; description: string; usage_hint?: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    socket_mode_enabled: boolean;
    interactivity: { is_enabled: boolean; request_url?: string };
    event_subscriptions: { bot_events: string[]; request_url?: string };
  };
};

describe('slack-app-manifest.yml', () => {
  it('uses a draft-07 schema (the default ajv dialect)', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it("validates against Slack's manifest schema with no errors", () => {
    // strict: false because Slack's schema uses a non-standard `regex` keyword.
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('runs in Socket Mode without request URLs', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.request_url).toBeUndefined();
    expect(manifest.settings.interactivity.request_url).toBeUndefined();
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('declares the bot user, slash command and events the app uses', () => {
    expect(manifest.features.bot_user.display_name).toBe('switchboard');
    const command = manifest.features.slash_commands.find((c) => c.command === '/switchboard');
    expect(command?.description).toBeTruthy();
    expect(command?.usage_hint).toContain('fix #58');
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_mention', 'message.channels', 'message.groups', 'message.im']),
    );
  });

  it('asks for the scopes those features need and nothing broader', () => {
    const scopes = manifest.oauth_config.scopes.bot;
    expect(scopes).toEqual(
      expect.arrayContaining([
        'chat:write',
        'commands',
        'app_mentions:read',
        'channels:history',
        'groups:history',
        'im:history',
        'reactions:write',
      ]),
    );
    // Every Web API method the dispatcher calls is covered: reactions.add needs reactions:write.
    expect(scopes).toContain('reactions:write');
    // Each event needs its history scope.
    const needs: Record<string, string> = {
      app_mention: 'app_mentions:read',
      'message.channels': 'channels:history',
      'message.groups': 'groups:history',
      'message.im': 'im:history',
    };
    for (const event of manifest.settings.event_subscriptions.bot_events) expect(scopes).toContain(needs[event]);
    for (const broad of ['admin', 'chat:write.public', 'chat:write.customize', 'users:read.email', 'files:write']) {
      expect(scopes).not.toContain(broad);
    }
  });
});
