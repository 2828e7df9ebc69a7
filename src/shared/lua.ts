// Lua scripts live in .lua files in a lua/ folder beside the module that runs
// them, each opening with a header in bullmq's manner (commands/*.lua): what it
// does, its KEYS, its ARGV, what it returns. They are read once, when the
// module loads. `npm run build` copies them into dist/ (and the benchmarks'
// build into dist-bench/); the dispatcher image takes dist/ whole.
import { readFileSync } from 'node:fs';

/** The script `name` from the lua/ folder beside the module at `moduleUrl` (its import.meta.url). */
export function luaScript(moduleUrl: string, name: string): string {
  return readFileSync(new URL(`./lua/${name}`, moduleUrl), 'utf8');
}
