// Where the Kubernetes API is and which namespace Jobs go to: the pod's own
// service account when running in a cluster, else a kubeconfig (KUBECONFIG or
// ~/.kube/config), as kubectl finds it.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface KubeConnection {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The API server's URL, for messages. */
  server: string;
}

export function connectKube(options: { namespace?: string; env?: NodeJS.ProcessEnv } = {}): KubeConnection {
  const env = options.env ?? process.env;
  const kubeConfig = new KubeConfig();
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(IN_CLUSTER_NAMESPACE_FILE);
  try {
    if (inCluster) kubeConfig.loadFromCluster();
    // One file named in the given env; else kubectl's rules (KUBECONFIG list, ~/.kube/config).
    else if (env !== process.env && env.KUBECONFIG && !env.KUBECONFIG.includes(':')) kubeConfig.loadFromFile(env.KUBECONFIG);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    throw new Error(
      `cannot read the Kubernetes connection (${inCluster ? 'in-cluster service account' : `kubeconfig ${env.KUBECONFIG ?? '~/.kube/config'}`}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) {
    throw new Error(
      'no Kubernetes cluster configured: run the dispatcher in a cluster, or point KUBECONFIG at a kubeconfig with a current context',
    );
  }
  const namespace =
    options.namespace ??
    (inCluster ? readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() : undefined) ??
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ??
    'default';
  return { kubeConfig, namespace, server };
}
