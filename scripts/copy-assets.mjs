// Copies what tsc does not into a build of src/: the pages' static files and
// every Lua script (src/**/lua/*.lua), at the same paths.
// Usage: node scripts/copy-assets.mjs <out dir>   (dist, or dist-bench/src)
import { cpSync, statSync } from 'node:fs';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/copy-assets.mjs <out dir>');
cpSync('src', out, {
  recursive: true,
  filter: (path) => statSync(path).isDirectory() || path.endsWith('.lua') || path.startsWith('src/web/static/'),
});
