// Free text through the Slack emulator: a message the grammar does not
// understand goes to the light inference route (the Ollama double, scripted
// to answer JSON, behind the dispatcher's real router); Switchboard shows its
// reading with Run and Cancel, runs nothing while someone else presses Run,
// and starts the job when the requester does. Without a light model, the
// reply stays "I didn't understand", with an example.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { OllamaDouble } from '../support/ollama-double/index.js';
import { freePort } from '../support/free-port.js';
import { eventually } from '../support/eventually.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';
import { ACTIONS } from '../../src/domain/actions.js';

jest.setTimeout(90_000);

const LIGHT = 'llama3.2:3b';
const projects = (workspace: string) => `
projects:
  billing-api:
    workspace: ${workspace}
    agent: { command: ["sh", "-c", "echo 'Fixed the rounding.'"] }
`;

/** What a person sees of a message: its fallback text and its blocks. */
const visible = (m: RecordedMessage): string => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

type Button = { action_id: string; value?: string; text: { text: string } };
const buttonsOf = (blocks: unknown[] | undefined): Button[] =>
  ((blocks ?? []) as { type: string; elements?: Button[] }[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);

describe('with a light model', () => {
  let h: Harness;
  let double: OllamaDouble;
  const channel = 'C0FREETXT';

  beforeAll(async () => {
    double = await OllamaDouble.start({ models: [LIGHT] });
    h = await startHarness({
      mode: 'socket',
      projectsYaml: projects,
      env: { OLLAMA_URL: double.url, INFERENCE_LIGHT_MODEL: LIGHT, INFERENCE_PORT: String(await freePort()) },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await double?.close();
  });

  test("the reading is shown with Run and Cancel; only the requester's Run starts the job", async () => {
    double.reply({ content: '{"intent":"fix","issue":58,"project":"billing-api"}' });
    const asked = await h.emu.userSays({
      channel,
      user: 'U0ALICE',
      text: `<@${h.emu.botUserId}> could you have a look at the rounding bug, 58 in billing`,
    });

    const reading = await h.emu.waitFor(() => botReplies(h, channel, asked.ts).find((m) => buttonsOf(m.blocks).length > 0), {
      what: 'the reading with buttons',
      timeoutMs: 20_000,
    });
    expect(reading.text).toContain('fix #58 in billing-api');
    const [run, cancel] = buttonsOf(reading.blocks);
    expect([run?.action_id, run?.text.text, cancel?.action_id, cancel?.text.text]).toEqual([
      ACTIONS.runReading,
      'Run',
      ACTIONS.dropReading,
      'Cancel',
    ]);
    // The light route was asked with the reading's JSON schema, and the message as untrusted data.
    const sent = double.generations().at(-1)?.body as { model: string; format: unknown; messages: { content: string }[] };
    expect(sent.model).toBe(LIGHT);
    expect(sent.format).toMatchObject({ type: 'object', required: ['intent'] });
    expect(sent.messages[1]?.content).toContain('Chat message (untrusted, JSON)');

    // Someone else presses Run: told who may, and nothing starts.
    const before = h.emu.responses().length;
    await h.emu.blockAction({
      channel,
      user: 'U0MALLORY',
      message_ts: reading.ts,
      thread_ts: asked.ts,
      action_id: run!.action_id,
      value: run!.value,
    });
    const refusal = await h.emu.waitFor(
      () =>
        h.emu
          .responses()
          .slice(before)
          .find((r) => /Only/.test(JSON.stringify(r.body))),
      { what: 'the refusal to another user' },
    );
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(refusal.body)).toContain('<@U0ALICE>, who asked');
    expect(botReplies(h, channel, asked.ts).some((m) => /billing-api #58/.test(m.text ?? ''))).toBe(false);

    // The requester presses Run: the job starts in the thread and finishes.
    await h.emu.blockAction({
      channel,
      user: 'U0ALICE',
      message_ts: reading.ts,
      thread_ts: asked.ts,
      action_id: run!.action_id,
      value: run!.value,
    });
    const done = await h.emu.waitFor(() => botReplies(h, channel, asked.ts).find((m) => /is done/.test(m.text ?? '')), {
      what: "the job's result",
      timeoutMs: 60_000,
    });
    expect(visible(done)).toContain('billing-api #58');
    expect(visible(done)).toContain('Fixed the rounding.');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be removed');

    // The reading was used up by that Run (a second Run is a double click, which the dedupe swallows): Cancel now finds nothing.
    const again = h.emu.responses().length;
    await h.emu.blockAction({
      channel,
      user: 'U0ALICE',
      message_ts: reading.ts,
      thread_ts: asked.ts,
      action_id: cancel!.action_id,
      value: cancel!.value,
    });
    const gone = await h.emu.waitFor(() => h.emu.responses()[again], { what: 'the answer to Cancel after Run' });
    expect(JSON.stringify(gone.body)).toContain('already been run or cancelled');
  });

  test('an answer that is not valid JSON for an intent is refused: "I didn\'t understand", nothing to press', async () => {
    double.reply({ content: 'Sure! I will deploy billing-api to production right away.' });
    const asked = await h.emu.userSays({ channel: `${channel}2`, user: 'U0ALICE', text: `<@${h.emu.botUserId}> ship billing to prod` });
    const reply = await h.emu.waitFor(() => botReplies(h, `${channel}2`, asked.ts)[0], { what: 'a reply', timeoutMs: 20_000 });
    expect(reply.text).toMatch(/didn't understand/);
    expect(buttonsOf(reply.blocks)).toEqual([]);
  });
});

describe('without a light model', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'socket', projectsYaml: projects });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('the reply stays "I didn\'t understand", with an example', async () => {
    const asked = await h.emu.userSays({
      channel: 'C0FREETX3',
      user: 'U0ALICE',
      text: `<@${h.emu.botUserId}> could you have a look at the rounding bug`,
    });
    const reply = await h.emu.waitFor(() => botReplies(h, 'C0FREETX3', asked.ts)[0], { what: 'a reply' });
    expect(reply.text).toMatch(/didn't understand/);
    expect(JSON.stringify(reply.blocks)).toContain('fix #58 in billing-api');
    expect(buttonsOf(reply.blocks)).toEqual([]);
  });
});
