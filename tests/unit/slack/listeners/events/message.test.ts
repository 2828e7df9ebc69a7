// The Slack listeners are thin adapters: called here with small fakes of ack,
// respond, the delivery and the chat core (no Bolt running), they acknowledge
// first, hand over who said or pressed what where, and render the answer.
import { Metrics } from '../../../../../src/observability/metrics.js';
import { silentLogger } from '../../../../../src/observability/logger.js';
import { answerMessage } from '../../../../../src/slack/listeners/events/message.js';
import { fakeChat, context } from '../../../../support/slack-listener-fakes.js';

describe('events: a message', () => {
  const delivery = () => {
    const calls: { method: string; args: Record<string, unknown> }[] = [];
    return {
      calls,
      call: async (c: { method: string; args: unknown }) => (
        calls.push(c as never),
        { outcome: 'delivered' as const, result: { ok: true } }
      ),
    };
  };

  test('a person in a thread: the core hears the thread and the message, the answer goes into the thread', async () => {
    const { chat, said } = fakeChat();
    const d = delivery();
    await answerMessage(
      {
        event: {
          channel: 'C0CHAN',
          user: 'U0ALICE',
          text: 'stop',
          ts: '1700000000.000300',
          thread_ts: '1700000000.000100',
          channel_type: 'channel',
        },
        body: { event_id: 'Ev1' },
        context,
      },
      false,
      { chat, logger: silentLogger, metrics: new Metrics(), delivery: d as never },
    );
    expect(said[0]).toMatchObject({
      text: 'stop',
      threadTs: '1700000000.000100',
      messageTs: '1700000000.000300',
      surface: 'thread',
      addressed: false,
    });
    expect(d.calls).toHaveLength(1);
    expect(d.calls[0]).toMatchObject({ method: 'chat.postMessage', args: { channel: 'C0CHAN', thread_ts: '1700000000.000100' } });
  });

  test.each([
    ['a bot', { bot_id: 'B0OTHER' }],
    ['a subtype', { subtype: 'message_changed' }],
    ['no text', { text: '' }],
  ])('%s is never handed to the core', async (_what, over) => {
    const { chat, said } = fakeChat();
    const d = delivery();
    await answerMessage(
      { event: { channel: 'C0CHAN', user: 'U0ALICE', text: 'fix #1 in demo', ts: '1.1', ...over }, body: {}, context },
      false,
      {
        chat,
        logger: silentLogger,
        metrics: new Metrics(),
        delivery: d as never,
      },
    );
    expect(said).toEqual([]);
    expect(d.calls).toEqual([]);
  });
});
