// Every Lua script, as the dispatcher runs it from dist/: each src/**/lua/*.lua
// is copied there by `npm run build`, opens with its header (what it does, its
// KEYS, its ARGV, what it returns), and compiles on a real Redis.
import { jest } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ensureDispatcherBuild } from '../support/replica-process.js';
import { redisUrl } from '../support/redis.js';

jest.setTimeout(180_000);

const ROOT = resolve(import.meta.dirname, '../..');

function luaFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return luaFiles(path);
    return name.endsWith('.lua') ? [relative(ROOT, path)] : [];
  });
}

const redis = new Redis(redisUrl());
afterAll(() => redis.disconnect());

test('every script of src/ is in dist/, with its header, and compiles', async () => {
  await ensureDispatcherBuild();
  const sources = luaFiles(join(ROOT, 'src')).map((f) => relative('src', f));
  // The owner-checked lease is among them, written once.
  expect(sources).toEqual(expect.arrayContaining(['state/lua/owner-renew.lua', 'state/lua/owner-release.lua']));
  expect(sources.length).toBeGreaterThanOrEqual(15);
  for (const file of sources) {
    const built = join(ROOT, 'dist', file);
    const text = readFileSync(built, 'utf8');
    expect({ file, same: text === readFileSync(join(ROOT, 'src', file), 'utf8') }).toEqual({ file, same: true });
    const header = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(text)?.[1] ?? '';
    expect({ file, keys: /KEYS\[/.test(header), returns: /Returns/.test(header) }).toEqual({ file, keys: true, returns: true });
    const sha = (await redis.script('LOAD', text)) as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  }
});

test('a script that does not compile is refused by Redis (the check above can fail)', async () => {
  await expect(redis.script('LOAD', 'return redis.call(')).rejects.toThrow(/Error compiling script|ERR/);
});
