// The Slack listeners are thin adapters: called here with small fakes of ack,
// respond, the delivery and the chat core (no Bolt running), they acknowledge
// first, hand over who said or pressed what where, and render the answer.
import { jest } from '@jest/globals';
import { ACTIONS, actionIdPattern } from '../../../../../src/domain/actions.js';
import { silentLogger } from '../../../../../src/observability/logger.js';
import { buttonPressed } from '../../../../../src/slack/listeners/actions/button-pressed.js';
import { registerActionListeners } from '../../../../../src/slack/listeners/actions/index.js';
import { fakeChat, context, pressBody } from '../../../../support/slack-listener-fakes.js';

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
