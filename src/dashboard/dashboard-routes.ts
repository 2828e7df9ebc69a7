// /dashboard on PORT: the pages, their JSON and the live log tail. Read-only:
// every route is GET. Access is checked first on every route
// (dashboard-access.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';
import { handled, notFound, paramsOf, queryOf, sendJson } from '../web/http.js';
import { sendStatic } from '../web/static-files.js';
import { checkDashboardAccess, type DashboardAccess } from './dashboard-access.js';
import type { DashboardData } from './dashboard-data.js';
import type { JobEventStreams } from './job-event-stream.js';

export interface DashboardRouteDeps {
  access: DashboardAccess;
  data: DashboardData;
  streams: JobEventStreams;
  logger: Logger;
}

export function dashboardRoutes(deps: DashboardRouteDeps): HttpRoute[] {
  const guarded =
    (what: string, fn: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void) =>
    (req: IncomingMessage, res: ServerResponse) => {
      if (checkDashboardAccess(deps.access, req, res) === 'handled') return;
      handled(deps.logger, what, async (rq, rs) => fn(rq, rs))(req, res);
    };
  return [
    { path: '/dashboard', method: ['GET'], handler: guarded('dashboard page', (_req, res) => sendStatic(res, 'dashboard.html')) },
    { path: '/dashboard/jobs/:id', method: ['GET'], handler: guarded('job page', (_req, res) => sendStatic(res, 'dashboard-job.html')) },
    {
      path: '/dashboard/assets/:file',
      method: ['GET'],
      handler: guarded('dashboard asset', (req, res) => sendStatic(res, paramsOf(req).file ?? '')),
    },
    {
      path: '/dashboard/api/overview',
      method: ['GET'],
      handler: guarded('dashboard overview', async (_req, res) => sendJson(res, 200, await deps.data.overview())),
    },
    {
      path: '/dashboard/api/jobs/:id',
      method: ['GET'],
      handler: guarded('dashboard job', async (req, res) => {
        const found = await deps.data.job(paramsOf(req).id ?? '');
        if (!found) return notFound(res);
        sendJson(res, 200, found);
      }),
    },
    {
      path: '/dashboard/api/jobs/:id/events',
      method: ['GET'],
      // serve() answers 404 itself: ids Switchboard never makes have no record.
      handler: guarded('dashboard log tail', (req, res) =>
        deps.streams.serve(paramsOf(req).id ?? '', req, res, queryOf(req).get('after') ?? undefined),
      ),
    },
  ];
}
