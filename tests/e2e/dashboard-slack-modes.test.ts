// The dashboard beside Slack: served by Bolt's receiver on PORT in both Slack
// modes, behind DASHBOARD_TOKEN, listing a job that ran from a Slack message,
// with its log tail over Server-Sent Events.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';

jest.setTimeout(120_000);

const TOKEN = 'e2e-dashboard-token-0123456789';
const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'a line the agent printed'"]
`;

describe.each(['socket', 'http'] as const)('the dashboard in %s mode', (mode) => {
  let h: Harness;
  const channel = mode === 'socket' ? 'C0DASHSOCK' : 'C0DASHHTTP';

  beforeAll(async () => {
    h = await startHarness({ mode, projectsYaml: projects, env: { DASHBOARD_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('needs the token, lists the job that ran, and streams its events', async () => {
    const base = `http://127.0.0.1:${h.dispatcher!.port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${base}/dashboard/api/overview`)).status).toBe(401);

    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #3 in demo' });
    await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /is done/.test(m.text ?? '')), {
      what: 'the result',
      timeoutMs: 60_000,
    });

    const overview = (await (await fetch(`${base}/dashboard/api/overview`, { headers: auth })).json()) as {
      finished: { id: string; channel: string; requester: string; state: string }[];
    };
    const job = overview.finished.find((j) => j.channel === channel);
    expect(job).toMatchObject({ requester: 'U0ALICE', state: 'done' });

    const page = await fetch(`${base}/dashboard/jobs/${job!.id}`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');

    // The job has ended: the stream sends every event, then `end`, and closes.
    const stream = await fetch(`${base}/dashboard/api/jobs/${job!.id}/events`, { headers: auth });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const body = await stream.text();
    expect(body).toContain('a line the agent printed');
    expect(body).toMatch(/event: end\n/);
  });
});
