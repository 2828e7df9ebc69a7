// The test servers as Compose services (docker-compose.test.yml), one image,
// one role per container:
//   node testbed.js slack   the Slack emulator on :8080 (as `slack:8080`), and
//                           a control API on :8081 for the test: POST /say, GET /messages, GET /connections
//   node testbed.js github  the GitHub API double on :8080 (state: GET /_double/state)
//   node testbed.js git     bare repositories over smart HTTP on :8080 (refs: GET /_refs?repo=owner/name)
// Seeds come from the environment: TESTBED_TOKEN (the push token, write
// access), TESTBED_REPO (owner/name) and TESTBED_ISSUE (JSON {number, title, body, labels}).
import { createServer } from 'node:http';
import { SlackEmulator } from '../../support/slack-emulator/index.js';
import { startGitHubDouble } from '../../support/tracker-doubles/github-double.js';
import { serveGitHttp } from '../../support/git-server.js';
import { readJson, sendJson } from '../../support/tracker-doubles/tracker-state.js';

const role = process.argv[2];
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`testbed ${role}: ${name} is not set`);
  return v;
};

async function slack(): Promise<void> {
  const emu = await SlackEmulator.start({ listenHost: '0.0.0.0', port: 8080, publicBase: process.env.TESTBED_PUBLIC ?? 'slack:8080' });
  createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://control');
      if (req.method === 'POST' && url.pathname === '/say') {
        const body = (await readJson(req)) as { channel: string; user: string; text: string };
        return sendJson(res, 200, await emu.userSays(body));
      }
      if (req.method === 'GET' && url.pathname === '/connections') return sendJson(res, 200, { socket: emu.socketConnections() });
      if (req.method === 'GET' && url.pathname === '/messages') {
        return sendJson(res, 200, emu.messages({ channel: url.searchParams.get('channel') ?? undefined }));
      }
      return sendJson(res, 404, { error: 'no such route' });
    })().catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
  }).listen(8081, '0.0.0.0');
  console.log('testbed slack: emulator on :8080, control on :8081');
}

async function github(): Promise<void> {
  const issue = JSON.parse(env('TESTBED_ISSUE')) as { number: number; title: string; body: string; labels?: string[] };
  const repo = env('TESTBED_REPO');
  await startGitHubDouble({
    issues: { [repo]: { [issue.number]: issue } },
    tokens: { [env('TESTBED_TOKEN')]: { repos: { [repo]: 'write' } } },
    host: '0.0.0.0',
    port: 8080,
    publicUrl: 'http://github:8080',
    // The double and the git server are separate services: a pull request's branches are taken on trust.
  });
  console.log('testbed github: REST API double on :8080');
}

async function git(): Promise<void> {
  await serveGitHttp({ repos: [env('TESTBED_REPO')], pushTokens: [env('TESTBED_TOKEN')], host: '0.0.0.0', port: 8080 });
  console.log('testbed git: smart HTTP on :8080');
}

const roles: Record<string, () => Promise<void>> = { slack, github, git };
const start = role ? roles[role] : undefined;
if (!start) {
  console.error('usage: testbed.js slack|github|git');
  process.exit(2);
}
start().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
