// @kubernetes/client-node is ESM-only and 2.x needs Node ≥ 22 (STYLE.md): this
// proves the pinned 1.4.x loads under jest's ESM mode on the CI's Node, and that
// a kubeconfig built in memory yields an API client.
import { BatchV1Api, KubeConfig } from '@kubernetes/client-node';

test('client-node 1.4 loads on this Node and builds a client from an in-memory kubeconfig', () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'agents' }],
    currentContext: 'x',
  });
  expect(kc.getContextObject('x')?.namespace).toBe('agents');
  expect(kc.makeApiClient(BatchV1Api)).toBeInstanceOf(BatchV1Api);
});
