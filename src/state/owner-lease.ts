// The owner-checked lease, written once: renew or release a key only while
// its value is the caller's token (a job id, a replica's name, a worker's
// token). Channel and workspace locks, the lease keeper and the handled-once
// claims all go through it (lua/owner-renew.lua, lua/owner-release.lua).
import type { Redis } from 'ioredis';
import { luaScript } from '../shared/lua.js';

const OWNER_RENEW = luaScript(import.meta.url, 'owner-renew.lua');
const OWNER_RELEASE = luaScript(import.meta.url, 'owner-release.lua');

/** Renews each lease its owner still holds, in one script; one true (renewed) or false (lost) per lease. */
export async function renewOwned(redis: Redis, leases: readonly { key: string; owner: string; leaseMs: number }[]): Promise<boolean[]> {
  if (leases.length === 0) return [];
  const reply = (await redis.eval(
    OWNER_RENEW,
    leases.length,
    ...leases.map((l) => l.key),
    JSON.stringify(leases.map((l) => l.leaseMs)),
    JSON.stringify(leases.map((l) => l.owner)),
  )) as number[];
  return reply.map((r) => r === 1);
}

/** Deletes the key if `owner` holds it; never someone else's. True when it was released. */
export async function releaseOwned(redis: Redis, key: string, owner: string): Promise<boolean> {
  return (await redis.eval(OWNER_RELEASE, 1, key, owner)) === 1;
}
