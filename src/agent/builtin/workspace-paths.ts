// Where the built-in agent's file tools may go: inside the workspace, and
// nowhere else. A path is refused when it climbs out (`../`), is absolute
// outside the workspace, or leads out through a symlink — checked on the real
// path of the deepest part that exists, so a link made by an earlier command
// (`ln -s /etc x`, then `x/passwd`) is caught too.
import { lstat, realpath } from 'node:fs/promises';
import { ErrorCode } from '../../errors.js';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export class PathRefused extends Error {
  readonly code = ErrorCode.AgentPathRefused;
  constructor(
    readonly given: string,
    why: string,
  ) {
    super(`${JSON.stringify(given)} is refused: ${why}`);
    this.name = 'PathRefused';
  }
}

const inside = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** `path` relative to `root`, `.` for the root itself: how paths are shown to the model. */
export function shown(root: string, path: string): string {
  return relative(root, path) || '.';
}

export interface ResolvedPath {
  /** Absolute path, its existing part with symlinks resolved. */
  real: string;
  /** Relative to the workspace, for messages. */
  relative: string;
}

/**
 * Resolves a path the model gave (relative to the workspace, or absolute
 * inside it) to one inside the workspace.
 * @throws PathRefused when it is, or leads, outside.
 */
export async function resolveInWorkspace(root: string, given: string): Promise<ResolvedPath> {
  if (given.includes('\0')) throw new PathRefused(given, 'it contains a NUL byte');
  const realRoot = await realpath(root);
  const path = given.trim() === '' ? '.' : given;
  let candidate: string;
  if (isAbsolute(path)) {
    candidate = resolve(path);
    // /workspace/x as well as the same place through the root's real path.
    if (inside(resolve(root), candidate)) candidate = join(realRoot, relative(resolve(root), candidate));
    else if (!inside(realRoot, candidate))
      throw new PathRefused(given, `it is outside the workspace (${resolve(root)}); give a path relative to it`);
  } else {
    candidate = resolve(realRoot, path);
    if (!inside(realRoot, candidate)) throw new PathRefused(given, 'it climbs out of the workspace');
  }
  // The deepest part that exists, with every symlink in it resolved, must still be inside.
  let existing = candidate;
  let rest = '';
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      rest = rest ? join(existing.slice(dirname(existing).length + 1), rest) : existing.slice(dirname(existing).length + 1);
      existing = dirname(existing);
    }
  }
  let real: string;
  try {
    real = await realpath(existing);
  } catch (err) {
    // A dangling symlink: where it points decides.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PathRefused(given, 'it goes through a symlink that points nowhere');
    throw err;
  }
  if (!inside(realRoot, real)) throw new PathRefused(given, 'it leads out of the workspace through a symlink');
  const full = rest ? join(real, rest) : real;
  return { real: full, relative: shown(realRoot, full) };
}
