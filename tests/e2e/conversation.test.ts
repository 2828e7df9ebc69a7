// The conversation with a running agent, end to end with real parts (DESIGN
// §2, §5): the Slack emulator (both Slack modes, through the real Bolt and
// Web API clients) → the dispatcher → a real agent container whose command is
// a fixture agent speaking the line protocol (tests/support/fixtures/asking-agent.mjs).
// Questions of every kind are answered by buttons and a thread reply, one
// times out to its default, an approval pressed by the wrong person is
// refused, and a thread follow-up reaches the agent's stdin.
import { jest } from '@jest/globals';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';

jest.setTimeout(150_000);

const FIXTURE = new URL('../support/fixtures/asking-agent.mjs', import.meta.url).pathname;

const projects = (workspace: string) => {
  copyFileSync(FIXTURE, join(workspace, 'asking-agent.mjs'));
  return `
projects:
  convo:
    workspace: ${workspace}
    admins: [U0ADMIN]
    agent:
      command: ["node", "/workspace/asking-agent.mjs", "ask"]
`;
};

interface ButtonEl {
  action_id: string;
  value?: string;
  text: { text: string };
}

const buttonsOf = (m: RecordedMessage): ButtonEl[] =>
  ((m.blocks ?? []) as { type: string; elements?: ButtonEl[] }[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);

describe.each(['socket', 'http'] as const)('a conversation with the agent in %s mode', (mode) => {
  let h: Harness;
  const channel = mode === 'socket' ? 'C0CONVSOCK' : 'C0CONVHTTP';

  beforeAll(async () => {
    h = await startHarness({ mode, projectsYaml: projects });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('questions of every kind are answered, one times out to its default, and a follow-up reaches the agent', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #41 in convo' });
    const thread = request.ts;
    const question = (words: string) =>
      h.emu.waitFor(() => botReplies(h, channel, thread).find((m) => (m.text ?? '').includes(words)), {
        what: `the question "${words}"`,
        timeoutMs: 60_000,
      });
    const buttonOn = (q: RecordedMessage, label: string): ButtonEl => {
      const b = buttonsOf(q).find((el) => el.text.text === label);
      if (!b) throw new Error(`no button "${label}" on ${JSON.stringify(q.blocks)}`);
      return b;
    };
    const pressButton = (q: RecordedMessage, b: ButtonEl, user: string) =>
      h.emu.blockAction({
        channel,
        user,
        message_ts: q.ts,
        thread_ts: thread,
        action_id: b.action_id,
        ...(b.value !== undefined ? { value: b.value } : {}),
      });
    const press = (q: RecordedMessage, label: string, user: string) => pressButton(q, buttonOn(q, label), user);
    const settled = (q: RecordedMessage, words: string) =>
      h.emu.waitFor(
        () =>
          h.emu.messages({ channel }).find((m) => m.ts === q.ts && (m.text ?? '').length > 0 && JSON.stringify(m.blocks).includes(words)),
        {
          what: `the question to say "${words}"`,
          timeoutMs: 20_000,
        },
      );

    const confirm = await question('Run the migration now?');
    const choice = await question('Which database?');
    const approval = await question('Push the fix to main?');
    const text = await question('What should the flag be called?');
    const timed = await question('Also update the changelog?');
    expect(buttonsOf(confirm).map((b) => b.text.text)).toEqual(['Yes', 'No']);
    expect(buttonsOf(choice).map((b) => b.text.text)).toEqual(['postgres', 'mysql', 'sqlite']);
    expect(buttonsOf(text)).toEqual([]);
    const yes = buttonOn(confirm, 'Yes'); // kept for a press after the end

    await press(confirm, 'Yes', 'U0BOB');
    await settled(confirm, '<@U0BOB> answered `yes`');
    await press(choice, 'mysql', 'U0CAROL');
    await settled(choice, '<@U0CAROL> answered `mysql`');

    // The wrong person: refused (to them alone), and told who may — without names.
    const wrong = await press(approval, 'Approve', 'U0MALLORY');
    const refusal = await h.emu.waitFor(() => h.emu.responses().find((r) => r.url === wrong.response_url), {
      what: 'the refusal of the approval',
    });
    expect(JSON.stringify(refusal.body)).toContain('Only the requester or a project admin may answer this approval.');
    expect(JSON.stringify(refusal.body)).not.toContain('U0ADMIN');
    expect(JSON.stringify(h.emu.messages({ channel }).find((m) => m.ts === approval.ts)?.blocks)).toContain('Approve');
    await press(approval, 'Approve', 'U0ADMIN');
    await settled(approval, '<@U0ADMIN> answered `approve`');

    // The text question is answered by the requester's reply in the thread.
    await h.emu.userSays({ channel, user: 'U0ALICE', text: 'call it SAFE_MODE', thread_ts: thread });
    await settled(text, '<@U0ALICE> answered `call it SAFE_MODE`');
    // Nobody answers the last one: its default is applied, and the message says so.
    await settled(timed, 'the default `yes` was applied');

    // A follow-up from someone else is left alone; the requester's reaches the agent's stdin.
    await h.emu.userSays({ channel, user: 'U0BOB', text: 'looks good to me', thread_ts: thread });
    const followUp = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'also add a test for the flag', thread_ts: thread });
    // The agent echoes it into its log, which the status message in the thread shows.
    const status = botReplies(h, channel, thread)[0] as RecordedMessage;
    await h.emu.waitFor(
      () =>
        JSON.stringify(h.emu.messages({ channel }).find((m) => m.ts === status.ts)?.blocks ?? '').includes(
          'follow-up: also add a test for the flag',
        ),
      {
        what: 'the echoed follow-up in the status message',
        timeoutMs: 20_000,
      },
    );
    await h.emu.userSays({ channel, user: 'U0ADMIN', text: 'finish', thread_ts: thread });
    const result = await h.emu.waitFor(() => botReplies(h, channel, thread).find((m) => /is done/.test(m.text ?? '')), {
      what: 'the result',
      timeoutMs: 60_000,
    });
    expect(JSON.stringify(result.blocks)).toContain(
      'answers: q-confirm=yes q-choice=mysql q-approval=approve q-text=call it SAFE_MODE q-timeout=yes; follow-ups: also add a test for the flag | finish',
    );
    // Acknowledged with a reaction, through the delivery.
    await h.emu.waitFor(
      () =>
        h.emu
          .messages({ channel })
          .find((m) => m.ts === followUp.ts)
          ?.reactions?.some((r) => r.name === 'incoming_envelope'),
      {
        what: 'the reaction on the follow-up',
      },
    );

    // An answer after the end (a stale button) is refused politely, to the presser alone.
    const late = await pressButton(confirm, yes, 'U0ALICE');
    const lateReply = await h.emu.waitFor(() => h.emu.responses().find((r) => r.url === late.response_url), {
      what: 'the late answer refused',
    });
    expect(JSON.stringify(lateReply.body)).toContain('This job has ended');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be removed');
  });
});
