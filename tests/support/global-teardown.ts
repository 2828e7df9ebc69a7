// Stops the redis-server that global-setup.ts started (if it started one).
export default async function globalTeardown(): Promise<void> {
  const pid = (globalThis as { __SB_TEST_REDIS__?: number }).__SB_TEST_REDIS__;
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}
