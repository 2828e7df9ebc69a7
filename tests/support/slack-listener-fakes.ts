// Small fakes for the Slack listeners' unit tests (no Bolt running): a chat
// core that records what it was told, Bolt's context, and a button press's body.
import type { Answer, ChatActions, Press, Said } from '../../src/chat/chat-actions.js';
import { ACTIONS } from '../../src/domain/actions.js';
import { section, text } from '../../src/domain/message.js';

export const ANSWER: Answer = { reply: { kind: 'info', text: 'hello' }, message: { blocks: [section(text('hello <there>'))] } };

/** A chat core that records what it was told and answers ANSWER (or waits for `gate`). */
export function fakeChat(gate?: Promise<void>) {
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

/** Bolt's context as the listeners read it. */
export const context = { botUserId: 'U0BOT', teamId: 'T0TEST' } as never;

/** The body of a button press (block_actions) on a job's message. */
export function pressBody(actionId: string, value: string, user = 'U0ALICE') {
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
