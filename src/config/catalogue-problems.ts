// Turns schema issues into `path: what is wrong — how to fix it` lines, with
// "did you mean" for misspelt keys.
import type { z } from 'zod';
import { ALLOWED_KEYS } from './catalogue-schema.js';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function unknownKey(key: string, allowed: readonly string[]): string {
  const best = allowed.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  if (best && best.d <= Math.max(1, Math.floor(key.length / 3))) return `unknown key — did you mean ${best.k}?`;
  return `unknown key — allowed here: ${allowed.join(', ')}`;
}

function allowedAt(path: readonly PropertyKey[]): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return ALLOWED_KEYS.top!;
  if (path.length === 1 && last === 'defaults') return ALLOWED_KEYS.defaults!;
  if (path.length === 2 && path[0] === 'projects') return ALLOWED_KEYS.project!;
  return ALLOWED_KEYS[String(last)] ?? [];
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** Turns zod issues into `path: problem` lines, under `prefix`. */
export function issueLines(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...path, key])}: ${unknownKey(key, allowedAt(path))}`);
      continue;
    }
    let message = issue.message;
    // Replace zod's generic wording; keep the messages written in the schemas.
    if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
      message = issue.input === undefined ? 'required' : `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    }
    lines.push(`${formatPath(path)}: ${message}`);
  }
  return lines;
}
