// The inference gateway of the compose setup: a TCP forwarder on the agents'
// network that passes connections to the dispatcher's INFERENCE_PORT and to
// nothing else, so agents reach inference while the dispatcher (and its PORT)
// stays off their network. Run from the dispatcher image:
//   node dist/inference/tcp-forwarder.js   (LISTEN_PORT, TARGET_HOST, TARGET_PORT)
import { connect, createServer } from 'node:net';

const listenPort = Number(process.env.LISTEN_PORT ?? 3001);
const targetHost = process.env.TARGET_HOST ?? 'dispatcher';
const targetPort = Number(process.env.TARGET_PORT ?? 3001);

const server = createServer((client) => {
  const upstream = connect(targetPort, targetHost);
  client.pipe(upstream).pipe(client);
  const close = () => (client.destroy(), upstream.destroy());
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(listenPort, '0.0.0.0', () => process.stdout.write(`forwarding :${listenPort} → ${targetHost}:${targetPort}\n`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
