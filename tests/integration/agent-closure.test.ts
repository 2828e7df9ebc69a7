// The agent runner's closure (README, "How it fits together"): what
// `node dist/agent/main.js` loads in the container, followed through the
// compiled JavaScript's value imports (types are gone by then). It must stay
// within agent/, domain/, trackers/, shared/ and errors.js: the container never
// loads the dispatcher's config schema, Slack's rate table or the Redis state code.
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ensureDispatcherBuild } from '../support/replica-process.js';

jest.setTimeout(180_000);

const DIST = resolve(import.meta.dirname, '../../dist');

/** Every file of dist/ reached from `entry` by relative value imports (static and dynamic). */
function closure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) if (fileName.startsWith('.')) visit(resolve(dirname(file), fileName));
  };
  visit(entry);
  return [...seen].map((f) => relative(DIST, f)).sort();
}

const ALLOWED = /^(agent\/|domain\/|trackers\/|shared\/|errors\.js$)/;

test('dist/agent/main.js reaches only agent/, domain/, trackers/, shared/ and errors.js', async () => {
  await ensureDispatcherBuild();
  const reached = closure(join(DIST, 'agent', 'main.js'));
  // The walk itself works: it reaches the runner and the event schema it publishes.
  expect(reached).toEqual(expect.arrayContaining(['agent/main.js', 'agent/runner.js', 'domain/events.js', 'shared/stream-tail.js']));
  expect(reached.filter((f) => !ALLOWED.test(f))).toEqual([]);
});

test('the walk finds a file outside the closure when there is one (the dispatcher reaches config/ and slack/)', async () => {
  await ensureDispatcherBuild();
  const reached = closure(join(DIST, 'main.js'));
  expect(reached.filter((f) => !ALLOWED.test(f))).toEqual(expect.arrayContaining(['config/env.js', 'slack/app.js']));
});
