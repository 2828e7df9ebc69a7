// The pages' files (src/web/static: HTML, CSS and plain JS, no build step),
// read once and kept in memory. `npm run build` copies them next to the
// compiled code, so the same lookup works from src/ (tests) and dist/.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { notFound, send } from './http.js';

const STATIC_DIR = new URL('./static/', import.meta.url);
const NAME = /^[a-z0-9][a-z0-9-]*\.(html|css|js|svg)$/;
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};
const cache = new Map<string, Buffer>();

/** A file of src/web/static by its plain name, or undefined. Names with paths or odd characters never reach the disk. */
export function staticFile(name: string): { body: Buffer; type: string } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  let body = cache.get(name);
  if (!body) {
    try {
      body = readFileSync(new URL(name, STATIC_DIR));
    } catch {
      return undefined;
    }
    cache.set(name, body);
  }
  return { body, type: TYPES[m[1]!]! };
}

export function sendStatic(res: ServerResponse, name: string): void {
  const file = staticFile(name);
  if (!file) return notFound(res);
  send(res, 200, file.type, file.body);
}
