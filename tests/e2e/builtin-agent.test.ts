// The built-in agent end to end: `fix #5 in local-llm` in Slack (emulator) →
// the dispatcher → a real agent container running the runner's coding loop →
// the dispatcher's inference endpoint (INFERENCE_PORT) → the router → the
// Ollama double, scripted to call the tools that write a file → the job's
// result in the thread reports that change, and the file has exactly the
// content the model gave.
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { OllamaDouble } from '../support/ollama-double/index.js';
import { freePort } from '../support/free-port.js';
import { agentNetworkGateway } from '../support/agent-network.js';
import { eventually } from '../support/eventually.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';

jest.setTimeout(120_000);

const MODEL = 'qwen2.5-coder:7b';
const CONTENT = 'export function round(x: number): number {\n  return Math.round(x * 100) / 100;\n}\n';
const projects = (workspace: string) => `
projects:
  local-llm:
    workspace: ${workspace}
    agent: { backend: ollama, model: "${MODEL}", maxIterations: 6 }
`;

/** What a person sees of a message: its fallback text and its blocks. */
const visible = (m: RecordedMessage): string => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

let h: Harness;
let double: OllamaDouble;
const channel = 'C0BUILTIN';

beforeAll(async () => {
  double = await OllamaDouble.start({ models: [MODEL] });
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    env: {
      OLLAMA_URL: double.url,
      INFERENCE_HEAVY_MODEL: MODEL,
      INFERENCE_PORT: String(await freePort()),
      // The agents' endpoint on their own network only; INFERENCE_AGENT_URL is derived from its gateway.
      INFERENCE_LISTEN_HOST: agentNetworkGateway(),
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await double?.close();
});

test('the scripted model writes a file through the tools; the result names the change and the file holds exactly its content', async () => {
  double.reply(
    { content: 'Let me look at the code first.', toolCalls: [{ function: { name: 'list_files', arguments: {} } }] },
    { toolCalls: [{ function: { name: 'write_file', arguments: { path: 'src/round.ts', content: CONTENT } } }] },
    { toolCalls: [{ function: { name: 'finish', arguments: { summary: 'Rounding now keeps two decimals (src/round.ts).' } } }] },
  );
  const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #5 in local-llm' });

  const result = await h.emu.waitFor(
    () =>
      botReplies(h, channel, request.ts).find(
        (m) => /is done|failed/.test(m.text ?? '') && m.updates === 0 && m !== botReplies(h, channel, request.ts)[0],
      ),
    {
      what: "the job's result",
      timeoutMs: 90_000,
    },
  );
  expect(result.text).toMatch(/is done/);
  expect(visible(result)).toContain('Rounding now keeps two decimals');
  expect(visible(result)).toContain('Files written: src/round.ts');
  expect(readFileSync(join(h.workspace, 'src', 'round.ts'), 'utf8')).toBe(CONTENT);
  // The endpoint counted the loop's tokens (one usage event per request), shown with the result.
  expect(visible(result)).toMatch(/tokens: \d+ in \/ \d+ out/);

  // Every turn went through the dispatcher's endpoint to the double, with the tools and the tool results.
  const turns = double.generations().filter((r) => (r.body?.tools as unknown[] | undefined)?.length);
  expect(turns).toHaveLength(3);
  const last = turns[2]?.body?.messages as { role: string; tool_name?: string; content: string }[];
  expect(last.filter((m) => m.role === 'tool').map((m) => m.tool_name)).toEqual(['list_files', 'write_file']);
  await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be removed');
});
