// SLACK_METHOD_BUDGETS as configuration: read here, spent by slack/delivery/budgets.ts.
/**
 * Parses SLACK_METHOD_BUDGETS: `chat.update=40,reactions.add=30` (calls per
 * minute per workspace). Returns the limits or a problem for the config check.
 */
export function parseMethodBudgets(value: string): { limits: Record<string, number> } | { problem: string } {
  const limits: Record<string, number> = {};
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z]+\.[A-Za-z.]+)\s*=\s*(\d+)$/.exec(part);
    if (!m?.[1] || !m[2] || Number(m[2]) < 1) return { problem: `"${part}" is not method=calls-per-minute (e.g. chat.update=40)` };
    limits[m[1]] = Number(m[2]);
  }
  return { limits };
}
