// What free text gets back (chat/free-text.ts): the reading, with Run and
// Cancel, and the answers to those buttons. Pure.
import { ACTIONS } from '../domain/actions.js';
import { actions, code, contextLine, emoji, mention, section, text, type Message } from '../domain/message.js';
import type { ReadingReply } from './replies.js';

const plain = (...pieces: Parameters<typeof section>): Message => ({ blocks: [section(...pieces)] });

export function readingMessage(reply: ReadingReply): Message {
  switch (reply.kind) {
    case 'reading':
      return {
        summary: [text(`I read that as: ${reply.command}`)],
        blocks: [
          section(emoji('thinking_face'), text(' I read that as '), code(reply.command), text('. Shall I run it?')),
          actions(
            { actionId: ACTIONS.runReading, label: 'Run', value: reply.id, style: 'primary' },
            { actionId: ACTIONS.dropReading, label: 'Cancel', value: reply.id },
          ),
          contextLine(
            text('Nothing runs until '),
            mention(reply.user),
            text(' presses Run. Next time you can say it directly, like '),
            code(reply.command),
            text('.'),
          ),
        ],
      };
    case 'reading-not-yours':
      return plain(
        emoji('lock'),
        text(' Only '),
        mention(reply.requester),
        text(', who asked, may run or cancel '),
        code(reply.command),
        text('. Say it yourself to run it for you.'),
      );
    case 'reading-gone':
      return plain(text('That has already been run or cancelled, or it waited too long. Say what you need again.'));
    case 'reading-dropped':
      return plain(emoji('wastebasket'), text(' Cancelled: '), code(reply.command), text(' was not run.'));
  }
}
