// The agents' Docker network in tests: made per run by global-setup.ts (and
// removed by global-teardown.ts), named in SB_TEST_AGENT_NETWORK. Redis also
// listens on its gateway address, which is REDIS_AGENT_URL's host.

/** The network of this test run; global-setup.ts sets it. */
export function agentNetwork(): string {
  const name = process.env.SB_TEST_AGENT_NETWORK;
  if (!name) throw new Error("SB_TEST_AGENT_NETWORK is not set: tests/support/global-setup.ts creates the agents' network");
  return name;
}

/** The host's address on the agents' network (where the test Redis also listens). */
export function agentNetworkGateway(): string {
  const url = process.env.REDIS_AGENT_URL;
  if (!url) throw new Error('REDIS_AGENT_URL is not set: tests/support/global-setup.ts sets it');
  return new URL(url).hostname;
}
