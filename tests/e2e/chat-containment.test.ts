// Issue 5 through the real Slack path (emulator → Bolt → listeners → render):
// what a chat user sends cannot make the bot post live markup, DMs and people
// from another team start nothing, and a huge message is refused unread.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';

jest.setTimeout(60_000);

const projects = () => `
projects:
  demo:
    repo: https://github.com/acme/demo.git
    agent: { command: ["true"] }
`;

let h: Harness;
const channel = 'C0CONTAIN';

beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects });
});
afterAll(async () => {
  await h?.stop();
});

const replyTo = (ch: string, ts: string): Promise<RecordedMessage> =>
  h.emu.waitFor(() => botReplies(h, ch, ts)[0], { timeoutMs: 15_000, what: `the bot's reply in ${ch}` });
const everything = (m: RecordedMessage) => `${m.text ?? ''}${JSON.stringify(m.blocks ?? [])}`;

test('@switchboard fix #58 in &lt;!channel&gt; is answered with <!channel> as escaped text, never a live mention', async () => {
  const said = await h.emu.userSays({ channel, user: 'U0ALICE', text: `<@${h.emu.botUserId}> fix #58 in &lt;!channel&gt;` });
  const reply = await replyTo(channel, said.ts);
  expect(everything(reply)).toContain('is not a project name');
  expect(everything(reply)).toContain('&lt;!channel&gt;');
  expect(everything(reply)).not.toContain('<!channel>');
});

test('a DM does not start a project without allowDMs', async () => {
  const said = await h.emu.userSays({ channel: 'D0CONTAIN', user: 'U0ALICE', text: 'fix #58 in demo' });
  const reply = await replyTo('D0CONTAIN', said.ts);
  expect(reply.text).toContain("demo can't be started from a direct message");
  expect(await h.containers('D0CONTAIN')).toEqual([]);
});

test('a Slack Connect user of another team is refused, told only about projects they may use', async () => {
  const said = await h.emu.userSays({ channel, user: 'U0PARTNER', user_team: 'T0OTHERORG', text: 'fix #58 in demo' });
  const reply = await replyTo(channel, said.ts);
  expect(reply.text).toContain("I don't know a project called `demo` that you can use");
  expect(reply.text).toContain('No project is open to you here');
  expect(await h.containers(channel)).toEqual([]);
});

test('a 40,000-character message addressed to the bot is refused unread', async () => {
  const said = await h.emu.userSays({ channel, user: 'U0ALICE', text: `<@${h.emu.botUserId}> fix #58 in demo ${'.'.repeat(40_000)}` });
  const reply = await replyTo(channel, said.ts);
  expect(reply.text).toMatch(/too long for me \([\d,]+ characters; I read at most 4,000\)/);
  expect(await h.containers(channel)).toEqual([]);
});

test('/switchboard from a DM does not start a project without allowDMs either', async () => {
  const { response_url } = await h.emu.slashCommand({ channel: 'D0CMDDM01', user: 'U0ALICE', text: 'fix #58 in demo' });
  const resp = await h.emu.waitFor(() => h.emu.responses().find((r) => r.url === response_url), { what: 'the ephemeral answer' });
  expect(JSON.stringify(resp.body)).toContain("demo can't be started from a direct message");
  expect(await h.containers('D0CMDDM01')).toEqual([]);
});
