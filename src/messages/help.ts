// `help`: the grammar, generated from the same table the parser uses
// (domain/intents.ts GRAMMAR), so it lists everything the bot understands
// and nothing it doesn't. Pure.
import { GRAMMAR } from '../domain/intents.js';
import { bold, code, contextLine, joined, section, text, type Message, type RichText } from '../domain/message.js';

export const SLASH_COMMAND = '/switchboard';

export function helpMessage(): Message {
  const rows: RichText[] = GRAMMAR.map((g) => [text('• '), ...joined(g.examples.map((e) => [code(e)]), ' · '), text(` — ${g.meaning}`)]);
  return {
    summary: [text('How to use Switchboard')],
    blocks: [
      section(bold('Switchboard'), text(' starts a coding agent on an issue and keeps you posted in a thread.')),
      section(text('Say it in a channel, @mention me, DM me, or use '), code(`${SLASH_COMMAND} <text>`), text(':')),
      section(...joined(rows, '\n')),
      contextLine(text('Anything else you say to me, I tell you I did not understand, with an example. Cancel and Retry are for the requester and the project\'s admins.')),
    ],
  };
}
