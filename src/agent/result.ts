// What an agent's output says about its result. Agents are arbitrary CLIs, so
// the summary is their last words and a pull/merge request URL is picked out.

const PR_URL = /https?:\/\/[^\s<>"')|]+\/(?:pull|pulls|merge_requests)\/\d+/g;
const MAX_SUMMARY = 1500;

export function findPrUrl(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const matches = lines[i]?.match(PR_URL);
    if (matches?.length) return matches[matches.length - 1];
  }
  return undefined;
}

export function summarize(lines: readonly string[], fallback: string): string {
  const tail = lines
    .filter((l) => l.trim() !== '')
    .slice(-5)
    .join('\n')
    .trim();
  if (!tail) return fallback;
  return tail.length > MAX_SUMMARY ? `…${tail.slice(-MAX_SUMMARY)}` : tail;
}
