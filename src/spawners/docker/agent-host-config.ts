// How an agent container is confined (issue 5): no capabilities, no privilege
// gain, a pids limit, a read-only root with tmpfs /tmp, a writable /workspace,
// no swap beyond its memory, an init that reaps orphans, an optional runtime.
import type Docker from 'dockerode';
import type { AgentSpec } from '../spawner.js';

/** Processes (and threads) one agent may have: enough for git, node and a toolchain, not a fork bomb. */
export const AGENT_PIDS_LIMIT = 512;
const TMP_TMPFS = 'rw,nosuid,nodev,size=512m,mode=1777';

/** Why an image's USER means root, or undefined when it names someone else. */
export function rootUserProblem(user: string | undefined): string | undefined {
  const name = (user ?? '').split(':')[0]?.trim() ?? '';
  if (name === '' || name === 'root' || name === '0') {
    return `runs as root (USER ${user ? `"${user}"` : 'unset'}): agents never run as root — add a non-root USER to the image (the agent target of the Dockerfile uses USER node)`;
  }
  return undefined;
}

export function agentHostConfig(
  spec: Pick<AgentSpec, 'resources' | 'workspace'>,
  opts: { network: string; runtime?: string },
): Docker.HostConfig {
  return {
    AutoRemove: true,
    NetworkMode: opts.network,
    NanoCpus: Math.round(spec.resources.cpus * 1e9),
    Memory: spec.resources.memoryBytes,
    MemorySwap: spec.resources.memoryBytes, // equal to Memory: no swap
    PidsLimit: AGENT_PIDS_LIMIT,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges:true'],
    ReadonlyRootfs: true,
    Init: true,
    Tmpfs: { '/tmp': TMP_TMPFS },
    // The project's checkout, or an anonymous volume (removed with the container) for the agent's clone.
    Mounts: spec.workspace
      ? [{ Type: 'bind', Source: spec.workspace, Target: '/workspace', ReadOnly: false, BindOptions: { Propagation: 'rprivate' } }]
      : [{ Type: 'volume', Source: '', Target: '/workspace', ReadOnly: false }],
    ...(opts.runtime ? { Runtime: opts.runtime } : {}),
  };
}
