// The conversation's Slack handlers with small fakes of ack, respond, the
// delivery and the conversation (no Bolt running): an answer button goes
// through the chat core to the conversation and a refusal back to the presser
// alone; a follow-up in a job's thread is handed to the conversation and
// acknowledged with a reaction on the reply itself.
import { jest } from '@jest/globals';
import { ChatActions } from '../../../src/chat/chat-actions.js';
import type { ChatRequests, ThreadTextHandler } from '../../../src/chat/chat-requests.js';
import type { ChatRequest } from '../../../src/chat/replies.js';
import { FOLLOW_UP_REACTION, type Conversation, type PressOutcome, type ThreadReplyOutcome } from '../../../src/jobs/conversation.js';
import { bindConversation } from '../../../src/chat/conversation-bindings.js';
import { ACTIONS } from '../../../src/domain/actions.js';
import { section, text } from '../../../src/domain/message.js';
import { questionKey } from '../../../src/domain/questions.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { buttonPressed } from '../../../src/slack/listeners/actions/button-pressed.js';
import { answerMessage } from '../../../src/slack/listeners/events/message.js';
import type { AuditRecord } from '../../../src/state/audit-log.js';
import { aJob } from '../../support/jobs.js';

const context = { botUserId: 'U0BOT', teamId: 'T0TEST' } as never;

/** A conversation that answers what it is told to, and records what it was asked. */
function fakeConversation(press: PressOutcome, reply: ThreadReplyOutcome) {
  const presses: unknown[] = [];
  const replies: unknown[] = [];
  const conversation = {
    press: async (p: unknown) => (presses.push(p), press),
    threadReply: async (job: unknown, r: unknown) => (replies.push([job, r]), reply),
  } as unknown as Conversation;
  return { conversation, presses, replies };
}

/** The real chat core with the conversation bound in; what `cancel`/`retry` need is never reached here. */
function chatCore(conversation: Conversation, audit?: AuditRecord[]) {
  let threadText: ThreadTextHandler | undefined;
  const requests = {
    onThreadText: (h: ThreadTextHandler) => (threadText = h),
    answer: async (req: ChatRequest) =>
      (await threadText?.({ req, job: aJob({ user: 'U0ALICE' }), intent: { kind: 'ignore' }, text: req.text })) ?? { kind: 'silent' },
  } as unknown as ChatRequests;
  const chat = new ChatActions({
    requests,
    control: {} as never,
    logger: silentLogger,
    ...(audit ? { audit: { record: async (r: AuditRecord) => void audit.push(r) } } : {}),
  });
  bindConversation(conversation, chat, requests);
  return chat;
}

function pressArgs(value: string) {
  const calls: string[] = [];
  const ack = jest.fn(async () => void calls.push('ack'));
  const respond = jest.fn(async (_m: unknown) => void calls.push('respond'));
  const body = {
    type: 'block_actions',
    trigger_id: '1.2.abc',
    user: { id: 'U0BOB', team_id: 'T0TEST' },
    team: { id: 'T0TEST' },
    channel: { id: 'C0CHAN' },
    container: { type: 'message', channel_id: 'C0CHAN', message_ts: '1700000000.000200', thread_ts: '1700000000.000100' },
    actions: [{ type: 'button', action_id: `${ACTIONS.answerQuestion}:2`, value, action_ts: '1700000001.000000' }],
  };
  return { calls, ack, respond, args: { ack, respond, body, action: body.actions[0], context } as never };
}

const VALUE = `j0000000001:${questionKey('q1')}:1`;

describe('the answer button', () => {
  test('is acknowledged, handed to the conversation with who pressed which option, and answers nobody when it counted', async () => {
    const f = fakeConversation({ kind: 'answered' }, { kind: 'ignored' });
    const p = pressArgs(VALUE);
    await buttonPressed({ chat: chatCore(f.conversation), logger: silentLogger })(p.args);
    expect(p.calls).toEqual(['ack']);
    expect(f.presses).toEqual([{ jobId: 'j0000000001', key: questionKey('q1'), index: 1, user: 'U0BOB' }]);
  });

  test('a refusal goes to the presser alone, without replacing the question', async () => {
    const refusal = { blocks: [section(text('Only the requester or a project admin may answer this approval.'))] };
    const f = fakeConversation({ kind: 'refused', message: refusal }, { kind: 'ignored' });
    const p = pressArgs(VALUE);
    const audit: AuditRecord[] = [];
    await buttonPressed({ chat: chatCore(f.conversation, audit), logger: silentLogger })(p.args);
    // The audit trail says who pressed what on which job, and that it was refused.
    expect(audit).toEqual([
      expect.objectContaining({
        user: 'U0BOB',
        kind: 'button',
        action: ACTIONS.answerQuestion,
        outcome: 'question-answer:refused',
        jobId: 'j0000000001',
      }),
    ]);
    expect(p.calls).toEqual(['ack', 'respond']);
    expect(p.respond.mock.calls[0]?.[0]).toMatchObject({
      response_type: 'ephemeral',
      replace_original: false,
      text: 'Only the requester or a project admin may answer this approval.',
    });
  });

  test('a value that is not one of ours is refused without asking the conversation', async () => {
    const f = fakeConversation({ kind: 'answered' }, { kind: 'ignored' });
    const p = pressArgs('{"q":"forged"}');
    await buttonPressed({ chat: chatCore(f.conversation), logger: silentLogger })(p.args);
    expect(f.presses).toEqual([]);
    expect(JSON.stringify(p.respond.mock.calls[0]?.[0])).toContain('no longer belongs to an open question');
  });
});

describe('a reply in a job thread', () => {
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
  const event = {
    channel: 'C0CHAN',
    user: 'U0ALICE',
    text: 'also add a test',
    ts: '1700000000.000300',
    thread_ts: '1700000000.000100',
    channel_type: 'channel',
  };

  test('that reached the agent gets a reaction on the reply, and no message', async () => {
    const f = fakeConversation({ kind: 'answered' }, { kind: 'forwarded', jobId: 'j0000000001' });
    const d = delivery();
    await answerMessage({ event, body: { event_id: 'Ev1' }, context }, false, {
      chat: chatCore(f.conversation),
      logger: silentLogger,
      metrics: new Metrics(),
      delivery: d as never,
    });
    expect(f.replies).toEqual([[expect.objectContaining({ user: 'U0ALICE' }), { user: 'U0ALICE', text: 'also add a test' }]]);
    expect(d.calls).toEqual([
      expect.objectContaining({
        method: 'reactions.add',
        args: { channel: 'C0CHAN', timestamp: '1700000000.000300', name: FOLLOW_UP_REACTION },
      }),
    ]);
  });

  test('that was refused gets the reason in the thread', async () => {
    const f = fakeConversation(
      { kind: 'answered' },
      { kind: 'refused', message: { blocks: [section(text('Only the requester or a project admin may answer the agent’s question.'))] } },
    );
    const d = delivery();
    await answerMessage({ event: { ...event, user: 'U0BOB' }, body: { event_id: 'Ev2' }, context }, false, {
      chat: chatCore(f.conversation),
      logger: silentLogger,
      metrics: new Metrics(),
      delivery: d as never,
    });
    expect(d.calls).toEqual([
      expect.objectContaining({ method: 'chat.postMessage', args: expect.objectContaining({ thread_ts: '1700000000.000100' }) }),
    ]);
  });

  test('that the conversation leaves alone goes on as any other message (here: silence)', async () => {
    const f = fakeConversation({ kind: 'answered' }, { kind: 'ignored' });
    const d = delivery();
    await answerMessage({ event: { ...event, user: 'U0BOB' }, body: { event_id: 'Ev3' }, context }, false, {
      chat: chatCore(f.conversation),
      logger: silentLogger,
      metrics: new Metrics(),
      delivery: d as never,
    });
    expect(d.calls).toEqual([]);
  });
});
