// The acknowledgement baseline: a bare Bolt app in HTTP mode that only
// acknowledges (no-op listeners for the same events), in a process of its own.
//   SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT
import { App, LogLevel } from '@slack/bolt';
import { ready, serveParent } from './child-ipc.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const app = new App({
  token: env('SLACK_BOT_TOKEN'),
  signingSecret: env('SLACK_SIGNING_SECRET'),
  clientOptions: { slackApiUrl: env('SLACK_API_URL') },
  logLevel: LogLevel.ERROR,
});
app.message(async () => undefined);
app.event('app_mention', async () => undefined);
const port = Number(env('PORT'));
await app.start({ port, host: '127.0.0.1' });
serveParent({ stop: () => app.stop().then(() => undefined) });
ready({ port });
