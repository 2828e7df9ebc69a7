// The JobSpawner conformance suite against the real Docker engine.
import { jest } from '@jest/globals';
import Docker from 'dockerode';
import { DockerSpawner } from '../../src/spawners/docker/docker-spawner.js';
import { silentLogger } from '../../src/observability/logger.js';
import { describeSpawner } from '../support/spawner-conformance.js';
import { agentNetwork } from '../support/agent-network.js';

jest.setTimeout(120_000);

describeSpawner('docker', async () => {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  return {
    spawner: new DockerSpawner({ dockerHost: '/var/run/docker.sock', network: agentNetwork(), logger: silentLogger }),
    unreachable: new DockerSpawner({ dockerHost: 'tcp://127.0.0.1:1', network: agentNetwork(), logger: silentLogger, engineWaitMs: 1000 }),
    async cleanup(jobIds) {
      await Promise.all(
        jobIds.map((id) =>
          docker
            .getContainer(`switchboard-job-${id}`)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    },
  };
});
