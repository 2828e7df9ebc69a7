// What a project's `workspace:` may be (DESIGN §3 WORKSPACE_ROOT). It is
// bind-mounted read-write into an agent, so only a plain absolute path under
// the operator's WORKSPACE_ROOT will do: no `..` or `.` segments that could
// climb out, no `:` that Docker's bind syntax would read as options (`:ro`),
// nothing that is the root itself.

/** What is wrong with the path's shape, or undefined when it is a plain absolute path. */
export function workspacePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute host path, like /srv/checkouts/billing-api';
  if (path.includes(':')) return 'must not contain ":" (Docker would read it as mount options such as :ro)';
  if (/[\0\n\r]/.test(path)) return 'must not contain control characters';
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments — write the plain path';
  if (segments.some((s) => s === '') && path !== '/') return 'must not contain "//" or end with "/"';
  if (path === '/') return 'must not be / — use a directory under WORKSPACE_ROOT';
  return undefined;
}

/** What is wrong with the path as a workspace under `root` (WORKSPACE_ROOT), or undefined when it may be mounted. */
export function workspaceUnderRootProblem(path: string, root: string | undefined): string | undefined {
  const shape = workspacePathProblem(path);
  if (shape) return shape;
  if (root === undefined) return 'workspaces are off: set WORKSPACE_ROOT to the host directory that holds project checkouts';
  const base = root.endsWith('/') ? root.slice(0, -1) : root;
  if (!path.startsWith(`${base}/`)) return `must lie under WORKSPACE_ROOT (${root})`;
  return undefined;
}
