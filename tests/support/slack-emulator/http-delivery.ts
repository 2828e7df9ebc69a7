// HTTP mode: what Slack does when it POSTs to an app's request URL. Requests
// are signed (v0 HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the signing
// secret) and carry X-Slack-Retry-Num / X-Slack-Retry-Reason on redelivery.
import { createHmac } from 'node:crypto';
import { request } from 'node:http';

export interface SignedHeaders {
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
}

/** Signs a raw request body the way Slack does; `ts` defaults to now (unix seconds). */
export function signRequest(secret: string, body: string, ts: number | string = Math.floor(Date.now() / 1000)): SignedHeaders {
  const timestamp = String(ts);
  const hex = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': `v0=${hex}` };
}

export type HttpOutcome = { kind: 'response'; status: number; body: unknown } | { kind: 'timeout' } | { kind: 'error'; message: string };

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** One POST to the app; never rejects. Uses a fresh connection (no keep-alive) so nothing lingers. */
export function postToApp(
  url: string,
  body: string,
  contentType: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        ...headers,
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      },
    });
    const timer = setTimeout(() => {
      done({ kind: 'timeout' });
      req.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      done({ kind: 'error', message: 'emulator closed' });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        done({ kind: 'response', status: res.statusCode ?? 0, body: parseBody(raw, res.headers['content-type']) });
      });
      res.on('error', (e) => done({ kind: 'error', message: e.message }));
    });
    req.on('error', (e) => done({ kind: 'error', message: e.message }));
    req.end(body);
  });
}
