// The JobSpawner conformance suite against the Kubernetes API double, whose
// kubelet runs the pods on the real Docker engine.
import { jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesSpawner } from '../../src/spawners/kubernetes/kubernetes-spawner.js';
import { connectKube } from '../../src/spawners/kubernetes/kube-connection.js';
import { silentLogger } from '../../src/observability/logger.js';
import { describeSpawner } from '../support/spawner-conformance.js';
import { KubernetesApiDouble } from '../support/k8s-api/index.js';

jest.setTimeout(40_000);

let double: KubernetesApiDouble | undefined;
afterAll(() => double?.stop());

describeSpawner('kubernetes', async () => {
  double = await KubernetesApiDouble.start({ network: 'none' });
  const unreachable = new KubeConfig();
  unreachable.loadFromOptions({
    clusters: [{ name: 'gone', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'gone', cluster: 'gone', user: 'u', namespace: 'switchboard-test' }],
    currentContext: 'gone',
  });
  return {
    // A one-second TTL, so a finished Job is gone as soon as a Docker container with AutoRemove would be.
    spawner: new KubernetesSpawner({
      connection: connectKube({ env: { KUBECONFIG: double.kubeconfigFile() } }),
      logger: silentLogger,
      ttlSecondsAfterFinished: 1,
      terminationGraceSeconds: 1,
    }),
    unreachable: new KubernetesSpawner({
      connection: { kubeConfig: unreachable, namespace: 'switchboard-test', server: 'http://127.0.0.1:1' },
      logger: silentLogger,
      rewatchDelayMs: 60_000,
      apiWaitMs: 1000,
    }),
    async cleanup() {
      // The double removes its own containers when it stops.
    },
  };
});
