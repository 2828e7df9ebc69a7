// DOCKER_HOST read as dockerode's connection options.
import { dockerConnection } from '../../../../src/spawners/docker/docker-connection.js';

describe('dockerConnection', () => {
  test.each([
    ['/var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://10.0.0.5:2376', { host: '10.0.0.5', port: 2376, protocol: 'http' }],
    ['tcp://docker', { host: 'docker', port: 2375, protocol: 'http' }],
    ['http://docker:1234', { host: 'docker', port: 1234, protocol: 'http' }],
    ['https://docker.internal:2376', { host: 'docker.internal', port: 2376, protocol: 'https' }],
  ])('%s', (dockerHost, options) => {
    const { agent, ...connection } = dockerConnection(dockerHost);
    expect(connection).toEqual(options);
    // Plain connections are not pooled: a connection left from before an engine restart would fail the next call.
    const pooled = agent ? (agent as unknown as { keepAlive: boolean }).keepAlive : 'default agent';
    expect(pooled).toBe(dockerHost.startsWith('https:') ? 'default agent' : false);
  });
});
