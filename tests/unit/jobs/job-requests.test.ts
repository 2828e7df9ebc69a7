// `fix #58 in billing-api with aider` (DESIGN §2) and the catalogue's agent
// options (`agents:`, `agent.stdin`, `busy`): parsed, validated, and turned
// into the agent's spec.
import { parseIntent } from '../../../src/domain/intents.js';
import { parseCatalogue, type Project } from '../../../src/config/catalogue.js';
import { ConfigError } from '../../../src/config/env.js';
import { agentFor, namedAgent } from '../../../src/domain/project.js';
import { buildAgentSpec } from '../../../src/jobs/run/agent-spec.js';
import { unknownAgentMessage } from '../../../src/jobs/job-requests.js';
import { aJob } from '../../support/jobs.js';

const addressed = { addressed: true };

describe('with <agent> in the chat language', () => {
  it.each([
    ['fix #58 in billing-api with aider', { kind: 'fix', issue: 58, project: 'billing-api', agent: 'aider' }],
    ['fix #58 with aider', { kind: 'fix', issue: 58, agent: 'aider' }],
    ['#58 in billing-api with aider', { kind: 'fix', issue: 58, project: 'billing-api', agent: 'aider' }],
    ['fix acme/billing-api#58 with codex', { kind: 'fix', issue: 58, repo: 'acme/billing-api', agent: 'codex' }],
    ['please fix #58 in billing-api using the aider agent, thanks', { kind: 'fix', issue: 58, project: 'billing-api', agent: 'aider' }],
    ['fix #58 in billing-api with "aider"', { kind: 'fix', issue: 58, project: 'billing-api', agent: 'aider' }],
  ])('%s', (text, intent) => {
    expect(parseIntent(text, addressed)).toEqual(intent);
    expect(parseIntent(text, { addressed: false })).toEqual(intent);
  });

  it('a name that cannot be an agent is a hint when addressed, and chatter otherwise', () => {
    expect(parseIntent('fix #58 in billing-api with ../../bin/sh', addressed)).toMatchObject({
      kind: 'unknown',
      hint: expect.stringContaining('not an agent name'),
    });
    expect(parseIntent('fix #58 in billing-api with ../../bin/sh', { addressed: false })).toEqual({ kind: 'ignore' });
    expect(parseIntent('fix #58 in billing-api with a lot of care', { addressed: false })).toEqual({ kind: 'ignore' });
  });
});

const CATALOGUE = `
defaults:
  agent: { command: ["claude", "-p", "{prompt}"] }
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    busy: queue
    agents:
      aider: { command: ["aider", "--yes", "--message", "{prompt}"], stdin: closed }
      Codex: { command: ["codex", "exec", "{prompt}"] }
  plain:
    repo: https://github.com/acme/plain.git
    agent: { command: ["cat"], stdin: open }
`;

describe('the catalogue', () => {
  const cat = parseCatalogue(CATALOGUE, 'projects.yml');
  const billing = cat.get('billing-api') as Project;

  it('reads named agents, busy and stdin', () => {
    expect(billing.agents).toEqual({
      aider: { command: ['aider', '--yes', '--message', '{prompt}'], stdin: 'closed' },
      Codex: { command: ['codex', 'exec', '{prompt}'] },
    });
    expect(billing.busy).toBe('queue');
    expect(cat.get('plain')).not.toHaveProperty('busy');
    expect(cat.get('plain')).not.toHaveProperty('agents');
    expect(cat.get('plain')?.agent).toEqual({ command: ['cat'] });
  });

  it('finds agents case-insensitively, and the default without a name', () => {
    expect(namedAgent(billing, 'codex')?.name).toBe('Codex');
    expect(namedAgent(billing, 'nope')).toBeUndefined();
    expect(agentFor(billing, undefined)).toEqual(billing.agent);
    expect(agentFor(billing, 'AIDER')).toEqual(billing.agents?.aider);
  });

  it('names every problem of the new keys', () => {
    const bad = `
projects:
  p:
    repo: https://github.com/acme/p.git
    busy: wait
    agent: { backend: ollama, model: m, stdin: closed }
    agents:
      "bad name": { command: [x] }
      empty: {}
`;
    let problems: string[] = [];
    try {
      parseCatalogue(bad, 'projects.yml');
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    const text = problems.join('\n');
    expect(text).toContain('projects.p.busy: must be reject');
    expect(text).toContain('projects.p.agent.stdin: only for an agent command');
    expect(text).toContain('not an agent name');
    expect(text).toContain('projects.p.agents.empty: give command');
  });

  it('refuses an unknown agent by listing the ones there are', () => {
    expect(unknownAgentMessage(billing, 'gpt')).toBe(
      'billing-api has no agent called `gpt`. Its agents: `aider`, `Codex`; or leave out `with gpt` for its default agent.',
    );
    expect(unknownAgentMessage(cat.get('plain') as Project, 'gpt')).toContain('plain has no named agents');
  });

  it("the agent's spec runs the named command, with stdin closed when the catalogue says so", () => {
    const settings = { image: 'img', redisUrl: 'redis://r:6379', redisPrefix: 'sb:', secrets: {} };
    const cred = { username: 'job-x', password: 'pw' };
    const named = buildAgentSpec(aJob({ agent: 'aider' }), billing, settings, cred).spec.env;
    expect(JSON.parse(named.SWITCHBOARD_AGENT_COMMAND ?? '')).toEqual(['aider', '--yes', '--message', '{prompt}']);
    expect(named.SWITCHBOARD_AGENT_STDIN).toBe('closed');
    const plain = buildAgentSpec(aJob(), billing, settings, cred).spec.env;
    expect(JSON.parse(plain.SWITCHBOARD_AGENT_COMMAND ?? '')).toEqual(['claude', '-p', '{prompt}']);
    expect(plain).not.toHaveProperty('SWITCHBOARD_AGENT_STDIN');
  });
});
