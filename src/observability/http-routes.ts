// /healthz, /readyz and /metrics, served on PORT by the Slack receiver in both modes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/** Shown in /readyz's body, never a reason to be unready (Slack: probes must not take a replica out for it). */
export interface ReadinessReport {
  name: string;
  describe: () => string;
}

export interface HttpRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

const CHECK_TIMEOUT_MS = 3000;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/** Runs every check; the body names each one that failed and why. */
export async function readiness(checks: ReadinessCheck[]): Promise<{ ready: boolean; problems: string[] }> {
  const results = await Promise.all(
    checks.map((c) =>
      withTimeout(c.check(), CHECK_TIMEOUT_MS).then(
        () => undefined,
        (err: Error) => `${c.name}: ${err.message}`,
      ),
    ),
  );
  const problems = results.filter((r): r is string => r !== undefined);
  return { ready: problems.length === 0, problems };
}

export function healthRoutes(checks: ReadinessCheck[], metrics: Metrics, reports: ReadinessReport[] = []): HttpRoute[] {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  return [
    { path: '/healthz', method: ['GET'], handler: (_req, res) => send(res, 200, 'text/plain', 'ok\n') },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void readiness(checks).then(({ ready, problems }) => {
          // The body names what was checked, so an operator sees which spawner this replica uses.
          const verdict = ready
            ? `ready: ${checks.map((c) => c.name).join(', ')}\n`
            : `not ready:\n${problems.map((p) => `- ${p}`).join('\n')}\n`;
          const info = reports.map((r) => `${r.name} (not counted for readiness): ${r.describe()}\n`).join('');
          send(res, ready ? 200 : 503, 'text/plain', verdict + info);
        });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        void metrics.registry.metrics().then((body) => send(res, 200, metrics.registry.contentType, body));
      },
    },
  ];
}
