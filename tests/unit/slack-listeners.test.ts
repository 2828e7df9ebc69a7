// The Slack listeners are thin adapters: called here with small fakes of ack,
// respond, the delivery and the chat core (no Bolt running), they acknowledge
// first, hand over who said or pressed what where, and render the answer.
import { jest } from '@jest/globals';
import type { Answer, ChatActions, Press, Said } from '../../src/chat/chat-actions.js';
import { ChatActions as RealChatActions } from '../../src/chat/chat-actions.js';
import type { ChatRequests } from '../../src/chat/chat-requests.js';
import type { JobControl } from '../../src/jobs/job-control.js';
import { ACTIONS, actionIdPattern, baseActionId } from '../../src/domain/actions.js';
import { section, text } from '../../src/domain/message.js';
import { Metrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { AuditRecord } from '../../src/state/audit-log.js';
import { switchboardCommand } from '../../src/slack/listeners/commands/switchboard.js';
import { buttonPressed } from '../../src/slack/listeners/actions/button-pressed.js';
import { registerActionListeners } from '../../src/slack/listeners/actions/index.js';
import { answerMessage } from '../../src/slack/listeners/events/message.js';
import { dedupeKey, dedupeMiddleware } from '../../src/slack/listeners/middleware/dedupe.js';
import { deliveryKind, metricsMiddleware } from '../../src/slack/listeners/middleware/metrics.js';
import { aJob } from '../support/jobs.js';

const ANSWER: Answer = { reply: { kind: 'info', text: 'hello' }, message: { blocks: [section(text('hello <there>'))] } };

/** A chat core that records what it was told and answers ANSWER (or waits for `gate`). */
function fakeChat(gate?: Promise<void>) {
  const said: Said[] = [];
  const pressed: Press[] = [];
  const chat = {
    said: async (s: Said) => {
      said.push(s);
      await gate;
      return ANSWER;
    },
    pressed: async (p: Press) => {
      pressed.push(p);
      await gate;
      return ANSWER;
    },
    buttonActionIds: () => [ACTIONS.cancelJob, ACTIONS.retryJob],
  } as unknown as ChatActions;
  return { chat, said, pressed };
}

const context = { botUserId: 'U0BOT', teamId: 'T0TEST' } as never;

function pressBody(actionId: string, value: string, user = 'U0ALICE') {
  return {
    type: 'block_actions',
    trigger_id: '123.456.abc',
    user: { id: user, team_id: 'T0TEST' },
    team: { id: 'T0TEST' },
    channel: { id: 'C0CHAN' },
    container: { type: 'message', channel_id: 'C0CHAN', message_ts: '1700000000.000200', thread_ts: '1700000000.000100' },
    actions: [{ type: 'button', action_id: actionId, value, action_ts: '1700000001.000000' }],
  };
}

describe('actions: a button press', () => {
  test.each([
    ['Cancel', buttonPressed, ACTIONS.cancelJob],
    ['Retry', buttonPressed, ACTIONS.retryJob],
  ] as const)('%s is acknowledged before the work is done, and the answer goes to the presser alone', async (_name, listener, actionId) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { chat, pressed } = fakeChat(gate);
    const calls: string[] = [];
    const ack = jest.fn(async () => void calls.push('ack'));
    const respond = jest.fn(async (_m: unknown) => void calls.push('respond'));
    const body = pressBody(actionId, 'a1b2c3d4e5f6');
    const handled = listener({ chat, logger: silentLogger })({ ack, respond, body, action: body.actions[0], context } as never);
    // The core is still working, yet Slack already has its acknowledgement.
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['ack']);
    open();
    await handled;
    expect(calls).toEqual(['ack', 'respond']);
    expect(pressed).toEqual([
      {
        actionId,
        value: 'a1b2c3d4e5f6',
        user: 'U0ALICE',
        team: 'T0TEST',
        channel: 'C0CHAN',
        messageTs: '1700000000.000200',
        threadTs: '1700000000.000100',
        sender: { external: false },
      },
    ]);
    const sent = respond.mock.calls[0]?.[0] as { response_type: string; replace_original: boolean; text: string; blocks: unknown[] };
    expect(sent).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(JSON.stringify(sent.blocks)).toContain('hello &lt;there&gt;');
  });
});

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

describe('global middleware', () => {
  test('dedupe keys: one message as `message` and `app_mention` is one key; a double click is one key for a few seconds', () => {
    const msg = dedupeKey({ type: 'event_callback', event_id: 'Ev1', event: { type: 'message', channel: 'C1', ts: '1.2' } });
    const mention = dedupeKey({ type: 'event_callback', event_id: 'Ev2', event: { type: 'app_mention', channel: 'C1', ts: '1.2' } });
    expect(msg).toEqual(mention);
    const a = dedupeKey(pressBody(ACTIONS.cancelJob, 'j1'));
    const b = dedupeKey({ ...pressBody(ACTIONS.cancelJob, 'j1'), trigger_id: 'another click' });
    expect(a).toEqual(b);
    expect(a?.ttlSeconds).toBeGreaterThan(0);
    expect(dedupeKey(pressBody(ACTIONS.cancelJob, 'j1', 'U0BOB'))).not.toEqual(a);
  });

  test('a redelivered button press is acknowledged and goes no further', async () => {
    const seen = new Set<string>();
    const dedupe = {
      claim: async (id: string) =>
        seen.has(id)
          ? ({ kind: 'done' } as const)
          : (seen.add(id), { kind: 'claimed' as const, claim: { done: async () => undefined, release: async () => void seen.delete(id) } }),
    };
    const metrics = new Metrics();
    const mw = dedupeMiddleware(dedupe, metrics, silentLogger);
    const next = jest.fn(async () => undefined);
    const ack = jest.fn(async () => undefined);
    await mw({ body: pressBody(ACTIONS.cancelJob, 'j1'), next, ack } as never);
    await mw({ body: pressBody(ACTIONS.cancelJob, 'j1'), next, ack } as never);
    expect(next).toHaveBeenCalledTimes(1);
    expect(ack).toHaveBeenCalledTimes(1);
    expect((await metrics.slackEvents.get()).values.find((v) => v.labels.kind === 'duplicate')?.value).toBe(1);
  });

  test('a delivery whose handler threw is released, so its redelivery is handled', async () => {
    const seen = new Set<string>();
    const dedupe = {
      claim: async (id: string) =>
        seen.has(id)
          ? ({ kind: 'done' } as const)
          : (seen.add(id), { kind: 'claimed' as const, claim: { done: async () => undefined, release: async () => void seen.delete(id) } }),
    };
    const mw = dedupeMiddleware(dedupe, new Metrics(), silentLogger);
    const body = { type: 'event_callback', event_id: 'Ev9', event: { type: 'message', channel: 'C1', ts: '9.9' } };
    const failing = jest.fn(async () => {
      throw new Error('Redis blinked');
    });
    await expect(mw({ body, next: failing } as never)).rejects.toThrow('Redis blinked');
    const next = jest.fn(async () => undefined);
    await mw({ body, next } as never);
    await mw({ body, next } as never);
    expect(next).toHaveBeenCalledTimes(1);
  });

  test('Redis unreachable: the delivery is handled unclaimed (it can answer "try again"), never dropped in silence', async () => {
    const dedupe = { claim: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const next = jest.fn(async () => undefined);
    await dedupeMiddleware(
      dedupe,
      new Metrics(),
      silentLogger,
    )({ body: { type: 'event_callback', event_id: 'Ev8', event: { type: 'message', channel: 'C1', ts: '8.8' } }, next } as never);
    expect(next).toHaveBeenCalledTimes(1);
  });

  test('slash commands: one invocation (its trigger) is one key, whichever replica gets it; without a trigger, the same words moments apart', () => {
    const cmd = { command: '/switchboard', team_id: 'T1', channel_id: 'C1', user_id: 'U1', text: 'fix #1 in demo' };
    expect(dedupeKey({ ...cmd, trigger_id: 'tr1' })).toEqual({ id: 'command:T1:tr1' });
    expect(dedupeKey({ ...cmd, trigger_id: 'tr2' })).not.toEqual(dedupeKey({ ...cmd, trigger_id: 'tr1' }));
    const bare = dedupeKey(cmd);
    expect(bare?.id).toContain('fix #1 in demo');
    expect(bare?.ttlSeconds).toBeGreaterThan(0);
  });

  test('metrics count deliveries by kind', async () => {
    const metrics = new Metrics();
    const next = jest.fn(async () => undefined);
    await metricsMiddleware(metrics)({ body: pressBody(ACTIONS.retryJob, 'j'), next } as never);
    await metricsMiddleware(metrics)({ body: { command: '/switchboard' }, next } as never);
    expect(next).toHaveBeenCalledTimes(2);
    const counts = Object.fromEntries((await metrics.slackEvents.get()).values.map((v) => [v.labels.kind, v.value]));
    expect(counts).toEqual({ block_actions: 1, slash_command: 1 });
    expect(deliveryKind({ type: 'event_callback', event: { type: 'app_mention' } })).toBe('app_mention');
  });
});

describe('the chat core routes presses by action id', () => {
  function core() {
    const audit: AuditRecord[] = [];
    const control = {
      cancel: jest.fn(async (target: { jobId: string }, by: string) => ({
        kind: 'cancel-requested' as const,
        job: aJob({ id: target.jobId, user: by }),
      })),
      retry: jest.fn(async () => ({ kind: 'no-job' as const, action: 'retry' as const })),
    } as unknown as JobControl;
    const chat = new RealChatActions({
      requests: {} as ChatRequests,
      control,
      audit: { record: async (r) => void audit.push(r) },
      logger: silentLogger,
    });
    return { chat, control, audit };
  }

  test('job.cancel (also as job.cancel:2) cancels the job named by the value, and is audited', async () => {
    const { chat, control, audit } = core();
    const answer = await chat.pressed(
      { actionId: `${ACTIONS.cancelJob}:2`, value: 'a1b2c3d4e5f6', user: 'U0ALICE', channel: 'C0CHAN', messageTs: '1.2' },
      'ref1',
    );
    expect(answer.reply.kind).toBe('cancel-requested');
    expect(control.cancel).toHaveBeenCalledWith({ jobId: 'a1b2c3d4e5f6' }, 'U0ALICE');
    expect(audit).toEqual([
      {
        user: 'U0ALICE',
        kind: 'button',
        action: 'job.cancel',
        channel: 'C0CHAN',
        thread: '1.2',
        surface: 'button',
        outcome: 'cancel-requested',
        jobId: 'a1b2c3d4e5f6',
        text: 'a1b2c3d4e5f6',
      },
    ]);
  });

  test('an action id nothing handles gets a polite answer; one registered later is routed to its handler', async () => {
    const { chat } = core();
    expect((await chat.pressed({ actionId: 'question.answer', value: 'x', user: 'U0ALICE' }, 'r')).reply.kind).toBe('info');
    chat.onButton('question.answer', async (p) => ({ kind: 'info', text: `answered ${p.value}` }));
    expect(chat.buttonActionIds()).toContain('question.answer');
    expect((await chat.pressed({ actionId: 'question.answer', value: 'x', user: 'U0ALICE' }, 'r')).reply).toEqual({
      kind: 'info',
      text: 'answered x',
    });
  });

  test('action id helpers', () => {
    expect(baseActionId('job.cancel:3')).toBe('job.cancel');
    expect(actionIdPattern('job.cancel').test('job.cancel:2')).toBe(true);
    expect(actionIdPattern('job.cancel').test('jobXcancel')).toBe(false);
  });
});

describe('actions: binding', () => {
  test('Cancel and Retry have listeners of their own; any other action (a select too) goes to the core through the catch-all, never twice', async () => {
    const bound: { constraints: { action_id?: RegExp }; listener: (args: unknown) => Promise<void> }[] = [];
    const app = { action: (constraints: never, listener: never) => void bound.push({ constraints, listener }) };
    const { chat, pressed } = fakeChat();
    registerActionListeners(app as never, { chat, logger: silentLogger });
    const ids = bound.map((b) => String(b.constraints.action_id));
    expect(ids).toEqual(expect.arrayContaining([String(actionIdPattern(ACTIONS.cancelJob)), String(actionIdPattern(ACTIONS.retryJob))]));
    expect(ids.at(-1)).toBe('undefined'); // the catch-all comes last
    const catchAll = bound.at(-1)?.listener as (args: unknown) => Promise<void>;
    const args = (action: object) => ({
      ack: async () => undefined,
      respond: async () => undefined,
      body: pressBody('x', 'y'),
      action,
      context,
    });
    await catchAll(args({ action_id: `${ACTIONS.cancelJob}:2`, value: 'j1' }));
    expect(pressed).toEqual([]);
    await catchAll(args({ type: 'static_select', action_id: 'poll.vote', selected_option: { value: 'postgres' } }));
    expect(pressed.map((p) => [p.actionId, p.value])).toEqual([['poll.vote', 'postgres']]);
  });
});
