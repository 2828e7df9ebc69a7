// What a spawner hands every agent: the contract's arguments (request last) and labels.
import { parseRunnerOptions } from '../../../src/agent/runner-options.js';
import { agentArgs, agentLabels } from '../../../src/spawners/spawner.js';
import { CONTRACT_ENV } from '../../support/contract-fixtures.js';

describe('agentArgs and agentLabels', () => {
  test('the arguments are exactly the contract, request last', () => {
    expect(agentArgs({ jobId: 'j1', redisUrl: 'redis://r:6379', channel: 'C1', request: 'fix #1 in p' })).toEqual([
      '--headless',
      '--job-id',
      'j1',
      '--redis-url',
      'redis://r:6379',
      '--platform',
      'slack',
      '--channel-id',
      'C1',
      'fix #1 in p',
    ]);
  });

  test('a request that looks like an option still reaches the runner as the request', () => {
    const request = '--redis-url evil -v fix #1';
    const o = parseRunnerOptions(agentArgs({ jobId: 'j1', redisUrl: 'redis://r:6379', channel: 'C1', request }), CONTRACT_ENV);
    expect(o.request).toBe(request);
    expect(o.redisUrl).toBe('redis://r:6379');
  });

  test('the labels are the contract labels', () => {
    expect(agentLabels({ jobId: 'j1', project: 'billing-api', channel: 'C1' })).toEqual({
      'switchboard.job-id': 'j1',
      'switchboard.project': 'billing-api',
      'switchboard.channel': 'C1',
      'app.kubernetes.io/managed-by': 'switchboard',
    });
  });
});
