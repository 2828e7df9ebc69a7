// The README's chat-language table lists everything the bot understands and
// nothing it doesn't: the same examples as the parser's grammar (which `help` is built from).
import { readFileSync } from 'node:fs';
import { GRAMMAR, parseIntent } from '../../../src/domain/intents.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

function tableExamples(): string[] {
  const section = readme.slice(readme.indexOf('## What people can say'), readme.indexOf('## Configuration'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
}

test("the README's chat table has exactly the grammar's examples", () => {
  expect(tableExamples().sort()).toEqual(GRAMMAR.flatMap((g) => g.examples).sort());
});

test('every example in the README table parses to a command', () => {
  for (const e of tableExamples()) expect([e, parseIntent(e, { addressed: true }).kind]).not.toEqual([e, 'unknown']);
});
