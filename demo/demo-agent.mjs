// The demo project's agent (demo/projects.yml): a harmless stand-in for a
// coding agent. It works in the job's throwaway clone of the demo repository,
// fixes the typo issue #1 describes, prints what it does (shown as the job's
// log) and reports its progress and verdict through the line protocol.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const issue = process.argv[2] || '1';
const say = (event) => console.log(`::switchboard:: ${JSON.stringify(event)}`);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text) => say({ type: 'progress', step: 2, total: 3, name: 'run agent', text });

progress(`reading issue #${issue}`);
console.log(readFileSync('ISSUES.md', 'utf8').trim());
await pause(1500);

progress('looking for the typo');
const readme = readFileSync('README.md', 'utf8');
console.log(`README.md has ${readme.split('\n').length} lines`);
await pause(1500);

if (!readme.includes('Helo ')) {
  say({ type: 'done', summary: 'Nothing to fix: README.md already says "Hello".' });
  process.exit(0);
}
progress('editing README.md');
writeFileSync('README.md', readme.replace('Helo ', 'Hello '));
console.log(execFileSync('git', ['diff', '--stat'], { encoding: 'utf8' }).trim());
await pause(1500);

say({ type: 'usage', model: 'demo-agent', promptTokens: 420, completionTokens: 42 });
say({
  type: 'done',
  summary: `Fixed the typo in README.md ("Helo" → "Hello") for issue #${issue}. This was the demo agent: connect a real coding agent CLI next.`,
});
