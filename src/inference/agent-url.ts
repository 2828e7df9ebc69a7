// INFERENCE_AGENT_URL's default: the inference listener as agents reach it,
// from where the dispatcher runs.
//  - Kubernetes: the dispatcher's Service (manifests/base/dispatcher-service.yaml
//    exposes INFERENCE_PORT as `inference`), in the dispatcher's namespace.
//  - Docker, dispatcher in a container of the same engine (compose; found by
//    its hostname, the container id): `switchboard-inference`, the name the
//    compose file gives the inference gateway on the agents' network (the
//    dispatcher itself stays off that network, so PORT stays out of reach).
//  - Docker, dispatcher on the host: the host's address on the agents'
//    network, i.e. that network's gateway.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Docker from 'dockerode';
import type { Config } from '../config/env.js';
import type { Logger } from '../observability/logger.js';

export const COMPOSE_INFERENCE_NAME = 'switchboard-inference';
const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export async function defaultAgentUrl(config: Config, logger: Logger): Promise<string> {
  const port = config.inference.port;
  if (config.spawner.type === 'kubernetes') {
    const ns = existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : (config.spawner.k8sNamespace ?? 'default');
    return `http://switchboard-dispatcher.${ns}.svc:${port}`;
  }
  const dockerHost = config.spawner.dockerHost;
  const docker =
    dockerHost.startsWith('/') || dockerHost.startsWith('unix://')
      ? new Docker({ socketPath: dockerHost.replace(/^unix:\/\//, '') })
      : new Docker({ host: new URL(dockerHost).hostname, port: Number(new URL(dockerHost).port || 2375) });
  // /.dockerenv alone would also match a dispatcher in a container that drives another engine.
  const inContainer = await docker
    .getContainer(hostname())
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (inContainer) return `http://${COMPOSE_INFERENCE_NAME}:${port}`;
  try {
    const info = (await docker.getNetwork(config.spawner.dockerNetwork).inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    const gateway = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    if (gateway) return `http://${gateway.includes(':') ? `[${gateway}]` : gateway}:${port}`;
  } catch (err) {
    logger.warn({ err, network: config.spawner.dockerNetwork }, "could not read the agents' network gateway for INFERENCE_AGENT_URL");
  }
  return `http://host.docker.internal:${port}`;
}
