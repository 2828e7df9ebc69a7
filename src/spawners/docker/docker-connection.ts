import type { DockerOptions } from 'dockerode';

/** DOCKER_HOST as a socket path, unix:// URL or tcp:// URL → dockerode options. */
export function dockerConnection(dockerHost: string): DockerOptions {
  if (dockerHost.startsWith('tcp://') || dockerHost.startsWith('http://') || dockerHost.startsWith('https://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
  }
  return { socketPath: dockerHost.replace(/^unix:\/\//, '') };
}
