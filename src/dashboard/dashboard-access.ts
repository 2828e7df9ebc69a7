// Who may see /dashboard. In local mode, anyone on this machine (the page
// answers only requests addressed to a loopback name). Elsewhere only holders
// of DASHBOARD_TOKEN: as `Authorization: Bearer <token>` (scripts), or in a
// browser by opening `/dashboard?token=<token>` once, which sets an HttpOnly
// cookie and sends the browser on to `/dashboard` without the token in its
// address. Unset outside local mode: the dashboard does not exist (404).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackHost, notFound, queryOf, send } from '../web/http.js';

export const DASHBOARD_COOKIE = 'sb_dashboard';

export type DashboardAccess = { kind: 'local' } | { kind: 'token'; token: string } | { kind: 'off' };

export function dashboardAccess(mode: string, token: string | undefined): DashboardAccess {
  if (mode === 'local') return { kind: 'local' };
  return token ? { kind: 'token', token } : { kind: 'off' };
}

/** What the cookie holds: derived from the token, so the token itself is not kept in the browser. */
function cookieValue(token: string): string {
  return createHmac('sha256', token).update('switchboard dashboard session').digest('hex');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export type Verdict = 'allowed' | 'handled';

/**
 * Lets the request through ('allowed'), or answers it ('handled'): 404 when
 * the dashboard is off, 401 without a valid token, a redirect that sets the
 * cookie for `?token=`.
 */
export function checkDashboardAccess(access: DashboardAccess, req: IncomingMessage, res: ServerResponse): Verdict {
  if (access.kind === 'off') {
    notFound(res);
    return 'handled';
  }
  if (access.kind === 'local') {
    if (isLoopbackHost(req)) return 'allowed';
    send(res, 403, 'text/plain; charset=utf-8', 'The local dashboard answers only on localhost.\n');
    return 'handled';
  }
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Bearer ') && same(auth.slice(7).trim(), access.token)) return 'allowed';
  const cookie = cookieOf(req, DASHBOARD_COOKIE);
  if (cookie !== undefined && same(cookie, cookieValue(access.token))) return 'allowed';
  const offered = queryOf(req).get('token');
  if (offered !== null && same(offered, access.token)) {
    const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    res.writeHead(303, {
      location: pathname,
      'set-cookie': `${DASHBOARD_COOKIE}=${cookieValue(access.token)}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200${secure}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
    return 'handled';
  }
  send(
    res,
    401,
    'text/plain; charset=utf-8',
    'The dashboard needs DASHBOARD_TOKEN: open /dashboard?token=<DASHBOARD_TOKEN> once in this browser, or send Authorization: Bearer <DASHBOARD_TOKEN>.\n',
    { 'www-authenticate': 'Bearer realm="switchboard dashboard"' },
  );
  return 'handled';
}
