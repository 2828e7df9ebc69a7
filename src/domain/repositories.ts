// Which project works on a repository (`acme/billing-api`, a git URL, an issue link).
import type { Catalogue, Project } from './project.js';

/** `owner/name` (or `group/sub/name`) of a git URL or path, lower-cased, without `.git`. */
export function repoPath(urlOrPath: string): string | undefined {
  let path = urlOrPath.trim();
  const scp = /^[\w.-]+@[\w.-]+:(?!\/\/)(.+)$/.exec(path);
  if (scp) path = scp[1] ?? '';
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  path = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/i, '');
  return path.includes('/') ? path.toLowerCase() : undefined;
}

/**
 * The project for a repository given as `owner/name` (or a URL): a tracker
 * match wins over a repo-URL match; among equals, the first by name.
 */
export function findProjectByRepo(cat: Catalogue, ownerRepo: string): Project | undefined {
  const wanted = repoPath(ownerRepo);
  if (wanted === undefined) return undefined;
  const all = [...cat.projects.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    all.find((p) => p.tracker !== undefined && p.tracker.repo.toLowerCase() === wanted) ??
    all.find((p) => p.repo !== undefined && repoPath(p.repo) === wanted)
  );
}
