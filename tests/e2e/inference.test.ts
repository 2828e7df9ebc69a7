// Inference end to end (issue 9): a real agent container on the agents'
// network runs the official `ollama` client with nothing but the env the
// dispatcher gave it (OLLAMA_HOST), and an OpenAI-style request with
// OPENAI_BASE_URL + OPENAI_API_KEY; both go through the dispatcher's
// INFERENCE_PORT to an Ollama double, while the dispatcher's PORT stays out of
// reach. The job's result shows its tokens and GPU time. A job that passes
// its project's token budget is stopped with the reason.
import { jest } from '@jest/globals';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { agentNetworkGateway } from '../support/agent-network.js';
import { OllamaDouble } from '../support/ollama-double/index.js';
import { freePort } from '../support/free-port.js';
import { eventually } from '../support/eventually.js';
import type { JobRecord } from '../../src/domain/job.js';

jest.setTimeout(120_000);

const MODEL = 'qwen2.5-coder:7b';

// Runs inside the agent container (node, the agent image's own node_modules).
const CLIENT_SCRIPT = String.raw`
const { Ollama } = require('/app/node_modules/ollama');
const net = require('node:net');
(async () => {
  const ollama = new Ollama({ host: process.env.OLLAMA_HOST });
  let streamed = '';
  for await (const part of await ollama.chat({ model: 'whatever', messages: [{ role: 'user', content: 'say hello' }], stream: true })) streamed += part.message.content;
  const tags = (await ollama.list()).models.map((m) => m.name);
  const res = await fetch(process.env.OPENAI_BASE_URL + '/chat/completions', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.OPENAI_API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'and again' }] }),
  });
  const openai = (await res.json()).choices[0].message.content;
  const bare = await fetch(process.env.SWITCHBOARD_INFERENCE_URL + '/api/tags').then((r) => r.status);
  const u = new URL(process.env.SWITCHBOARD_INFERENCE_URL);
  const port = await new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(process.env.DISPATCHER_PORT), timeout: 3000 });
    s.once('connect', () => { s.destroy(); resolve('CONNECTED'); });
    s.once('timeout', () => { s.destroy(); resolve('refused'); });
    s.once('error', () => resolve('refused'));
  });
  console.log('RESULT ' + JSON.stringify({ streamed, tags, openai, bare, port }));
})().catch((err) => { console.log('client broke: ' + err.message); process.exit(1); });
`;

// Asks until it is stopped: each answer is 30 tokens, the budget 50.
const SPENDER_SCRIPT = String.raw`
const { Ollama } = require('/app/node_modules/ollama');
(async () => {
  const ollama = new Ollama({ host: process.env.OLLAMA_HOST });
  for (let i = 0; i < 50; i++) {
    try { await ollama.chat({ model: 'x', messages: [{ role: 'user', content: 'more' }] }); } catch (err) { console.log('refused: ' + err.message); }
    await new Promise((r) => setTimeout(r, 200));
  }
})();
`;

function sibling(workspace: string, name: string): string {
  const dir = join(dirname(workspace), name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

let h: Harness;
let double: OllamaDouble;

beforeAll(async () => {
  double = await OllamaDouble.start({ defaultReply: 'hello from the GPU' });
  const projects = (workspace: string) => `
projects:
  chatty:
    workspace: ${workspace}
    env: [DISPATCHER_PORT]
    agent:
      command: ${JSON.stringify(['node', '-e', CLIENT_SCRIPT])}
  spender:
    workspace: ${sibling(workspace, 'spender')}
    budget: { tokens: 50 }
    agent:
      command: ${JSON.stringify(['node', '-e', SPENDER_SCRIPT])}
`;
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    env: {
      OLLAMA_URL: double.url,
      OLLAMA_SLOTS: '1',
      INFERENCE_PORT: String(await freePort()),
      // Bound on the agents' network only (and PORT on loopback, by the harness): INFERENCE_AGENT_URL is derived from that network's gateway.
      INFERENCE_LISTEN_HOST: agentNetworkGateway(),
      INFERENCE_HEAVY_MODEL: MODEL,
    },
  });
  process.env.DISPATCHER_PORT = String(h.config.port);
});
afterAll(async () => {
  await h?.stop();
  await double?.close();
  delete process.env.DISPATCHER_PORT;
});

/** The record of the job of a channel (its container's label names it). */
async function recordOf(channel: string): Promise<JobRecord> {
  const [container] = await h.containers(channel);
  const admin = new Redis(h.config.redis.url);
  try {
    return JSON.parse((await admin.get(`${h.prefix}job:${container?.Labels['switchboard.job-id'] ?? ''}`)) ?? 'null') as JobRecord;
  } finally {
    admin.disconnect();
  }
}

test('an agent container uses the official ollama client and an OpenAI client through INFERENCE_PORT, and cannot reach PORT', async () => {
  const request = await h.emu.userSays({ channel: 'C0CHATTY', user: 'U0ALICE', text: 'fix #1 in chatty' });
  const result = await h.emu.waitFor(
    () => botReplies(h, 'C0CHATTY', request.ts).find((m, i) => i > 0 && /is done|failed/.test(m.text ?? '')),
    { what: 'the result', timeoutMs: 90_000 },
  );
  expect(result.text).toMatch(/is done/);
  const job = await recordOf('C0CHATTY');
  const line = job.summary?.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line).toBeDefined();
  expect(JSON.parse(line!.slice('RESULT '.length))).toEqual({
    streamed: 'hello from the GPU',
    tags: [MODEL],
    openai: 'hello from the GPU',
    bare: 401,
    port: 'refused',
  });
  // Tokens and GPU time of both requests are in the result.
  expect(JSON.stringify(result.blocks)).toMatch(/tokens: \d+ in \/ 8 out · GPU \d/);
  expect(job.completionTokens).toBe(8);
  expect(job.gpuSeconds).toBeGreaterThan(0);
  expect(double.generations().map((g) => g.body?.model)).toEqual([MODEL, MODEL]);
});

test("a job that passes its project's token budget is stopped, with the reason", async () => {
  double.options.defaultReply = 'w '.repeat(30).trim();
  const request = await h.emu.userSays({ channel: 'C0SPEND', user: 'U0ALICE', text: 'fix #2 in spender' });
  const result = await h.emu.waitFor(
    () => botReplies(h, 'C0SPEND', request.ts).find((m, i) => i > 0 && /is done|failed/.test(m.text ?? '')),
    { what: 'the result', timeoutMs: 90_000 },
  );
  expect(result.text).toMatch(/failed: stopped: it used \d+ tokens, more than the 50 a job of spender may use/);
  await eventually(async () => (await h.containers('C0SPEND')).every((c) => c.State !== 'running'), 'the spender container to stop');
  // It made two requests, not fifty: the second passed the budget.
  expect(double.generations().length).toBeLessThanOrEqual(2 + 2 + 1);
});
