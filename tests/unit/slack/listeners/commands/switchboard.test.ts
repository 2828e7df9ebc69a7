// The Slack listeners are thin adapters: called here with small fakes of ack,
// respond, the delivery and the chat core (no Bolt running), they acknowledge
// first, hand over who said or pressed what where, and render the answer.
import { jest } from '@jest/globals';
import { Metrics } from '../../../../../src/observability/metrics.js';
import { silentLogger } from '../../../../../src/observability/logger.js';
import { switchboardCommand } from '../../../../../src/slack/listeners/commands/switchboard.js';
import { fakeChat, context } from '../../../../support/slack-listener-fakes.js';

describe('commands: /switchboard', () => {
  test('acknowledges, passes the text as addressed from the slash surface, answers ephemerally', async () => {
    const { chat, said } = fakeChat();
    const ack = jest.fn(async () => undefined);
    const respond = jest.fn(async (_m: unknown) => undefined);
    const command = {
      text: 'list',
      channel_id: 'C0CHAN',
      channel_name: 'general',
      user_id: 'U0ALICE',
      team_id: 'T0TEST',
      trigger_id: 't1',
    };
    await switchboardCommand({ chat, logger: silentLogger, metrics: new Metrics() })({ command, ack, respond, context } as never);
    expect(ack).toHaveBeenCalledTimes(1);
    expect(said[0]).toMatchObject({
      text: 'list',
      channel: 'C0CHAN',
      user: 'U0ALICE',
      addressed: true,
      surface: 'slash',
      sender: { dm: false, external: false },
    });
    expect(said[0]?.threadTs).toBeUndefined();
    expect(respond.mock.calls[0]?.[0]).toMatchObject({ response_type: 'ephemeral', text: 'hello &lt;there&gt;' });
  });

  test('an empty command means help', async () => {
    const { chat, said } = fakeChat();
    await switchboardCommand({ chat, logger: silentLogger, metrics: new Metrics() })({
      command: { text: '', channel_id: 'D0DM', user_id: 'U0ALICE', team_id: 'T0TEST', trigger_id: 't2' },
      ack: async () => undefined,
      respond: async () => undefined,
      context,
    } as never);
    expect(said[0]).toMatchObject({ text: 'help', sender: { dm: true } });
  });
});
