import { Agent } from 'node:http';
import type { DockerOptions } from 'dockerode';

/**
 * DOCKER_HOST as a socket path, unix:// URL or tcp:// URL → dockerode options.
 * Plain HTTP connections are not kept alive between calls: after the engine
 * restarts or the socket drops, a pooled connection would fail the next call
 * ("socket hang up") although the engine answers again.
 */
/** docker-modem takes an HTTP agent; @types/dockerode does not list it. */
type WithAgent = DockerOptions & { agent?: Agent };

export function dockerConnection(dockerHost: string): WithAgent {
  if (dockerHost.startsWith('tcp://') || dockerHost.startsWith('http://') || dockerHost.startsWith('https://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    const https = url.protocol === 'https:';
    return {
      host: url.hostname,
      port: Number(url.port || 2375),
      protocol: https ? 'https' : 'http',
      ...(https ? {} : { agent: new Agent({ keepAlive: false }) }),
    };
  }
  return { socketPath: dockerHost.replace(/^unix:\/\//, ''), agent: new Agent({ keepAlive: false }) };
}
