// The agent container contract (DESIGN §5) as a runner sees it in one job:
// its arguments and its environment, for the tests of both sides.
export const CONTRACT_ARGS = [
  '--headless',
  '--job-id',
  'a1b2c3d4e5f6',
  '--redis-url',
  'redis://redis:6379',
  '--platform',
  'slack',
  '--channel-id',
  'C0123ABCD',
  'fix #58 in billing-api',
];

export const CONTRACT_ENV = {
  JOB_ID: 'a1b2c3d4e5f6',
  PROJECT: 'billing-api',
  CHANNEL_ID: 'C0123ABCD',
  USER_ID: 'U0123ABCD',
  REDIS_PREFIX: 'sbx:',
  SWITCHBOARD_AGENT_COMMAND: JSON.stringify(['claude', '-p', '{prompt}']),
  SWITCHBOARD_REPO: 'https://github.com/acme/billing-api.git',
};
