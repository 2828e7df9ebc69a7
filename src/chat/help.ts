// `help`: the grammar, generated from the same table the parser uses
// (domain/intents.ts GRAMMAR), so it lists everything the bot understands
// and nothing it doesn't. Pure.
import { GRAMMAR } from '../domain/intents.js';
import { bold, code, contextLine, joined, section, text, type Message, type RichText } from '../domain/message.js';

export const SLASH_COMMAND = '/switchboard';

export function helpMessage(): Message {
  const rows: RichText[] = GRAMMAR.map((g) => [
    text('• '),
    ...joined(
      g.examples.map((e) => [code(e)]),
      ' · ',
    ),
    text(` — ${g.meaning}`),
  ]);
  return {
    summary: [text('How to use Switchboard')],
    blocks: [
      section(bold('Switchboard'), text(' starts a coding agent on an issue and keeps you posted in a thread.')),
      section(text('Say it in a channel, @mention me, DM me, or use '), code(`${SLASH_COMMAND} <text>`), text(':')),
      section(...joined(rows, '\n')),
      // Not a command of the grammar, so not in its table: what a running job's thread is for.
      section(
        text(
          'In a running job’s thread, anything else its requester or a project admin writes goes to the agent, and answers its questions; I acknowledge it with a reaction.',
        ),
      ),
      contextLine(
        text(
          "Anything else you say to me, I tell you I did not understand, with an example. Cancel, Retry and approvals are for the requester and the project's admins.",
        ),
      ),
    ],
  };
}
