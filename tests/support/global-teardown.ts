// Stops the redis-server that global-setup.ts started (if it started one) and
// removes the agents' network it created.
import Docker from 'dockerode';

export default async function globalTeardown(): Promise<void> {
  const pid = (globalThis as { __SB_TEST_REDIS__?: number }).__SB_TEST_REDIS__;
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const network = process.env.SB_TEST_AGENT_NETWORK;
  if (network?.startsWith('sbtest-agents-')) {
    await new Docker({ socketPath: '/var/run/docker.sock' })
      .getNetwork(network)
      .remove()
      .catch(() => undefined); // still in use by a leftover container: the next prune takes it
  }
}
