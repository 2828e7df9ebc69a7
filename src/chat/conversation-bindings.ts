// The agent's questions wired into the chat core: presses of an answer button
// and replies in a job's thread go to the job's conversation (jobs/conversation.ts).
import { section, text, type Message } from '../domain/message.js';
import { ANSWER_ACTION, parseAnswerValue } from '../domain/questions.js';
import type { Conversation, PressOutcome } from '../jobs/conversation.js';
import type { ChatActions } from './chat-actions.js';
import type { ChatRequests } from './chat-requests.js';

const say = (...words: Parameters<typeof section>): Message => ({ blocks: [section(...words)] });

/**
 * Binds the conversation into the chat core: the answer buttons, and other
 * text in a job's thread (after the commands: `cancel`, `retry`, … said there
 * stay commands). Replies the conversation leaves alone go on as usual.
 */
export function bindConversation(
  conversation: Conversation,
  chat: Pick<ChatActions, 'onButton'>,
  requests: Pick<ChatRequests, 'onThreadText'>,
): void {
  chat.onButton(ANSWER_ACTION, async (p) => {
    const pressed = parseAnswerValue(p.value);
    const outcome: PressOutcome = pressed
      ? await conversation.press({ ...pressed, user: p.user })
      : { kind: 'refused', message: say(text('This button no longer belongs to an open question.')) };
    return { kind: 'question-answer', ...(pressed ? { jobId: pressed.jobId } : {}), outcome };
  });
  requests.onThreadText(async ({ req, job, text: said }) => {
    const outcome = await conversation.threadReply(job, { user: req.user, text: said });
    return outcome.kind === 'ignored' ? undefined : { kind: 'follow-up', jobId: job.id, outcome };
  });
}
