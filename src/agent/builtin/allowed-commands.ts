// Which commands the built-in agent may run: the project's `agent.allow`, a
// list of argument vectors. No shell is ever involved: the model names an
// argv, and it runs only when it equals an allowed one — or extends one that
// ends in "..." (`["npm", "test", "--", "..."]` allows any arguments after
// `--`). Everything else is refused with the list of what is allowed.

/** The marker that lets an allowed argv take any further arguments. */
export const ANY_MORE = '...';

export type CommandVerdict = { ok: true } | { ok: false; reason: string };

export function describeAllowed(allow: readonly (readonly string[])[]): string {
  return allow.length ? allow.map((a) => JSON.stringify(a)).join(', ') : 'none (this project allows no commands)';
}

export function checkCommand(argv: readonly unknown[], allow: readonly (readonly string[])[]): CommandVerdict {
  if (argv.length === 0 || !argv.every((a): a is string => typeof a === 'string')) {
    return { ok: false, reason: 'argv must be a non-empty list of strings, like ["npm", "test"] (no shell: one string per argument)' };
  }
  const matches = allow.some((entry) => {
    const open = entry.at(-1) === ANY_MORE;
    const fixed = open ? entry.slice(0, -1) : entry;
    if (open ? argv.length < fixed.length : argv.length !== fixed.length) return false;
    return fixed.every((part, i) => argv[i] === part);
  });
  return matches
    ? { ok: true }
    : { ok: false, reason: `${JSON.stringify(argv)} is not a command this project allows; allowed: ${describeAllowed(allow)}` };
}
