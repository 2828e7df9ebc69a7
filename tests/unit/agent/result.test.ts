// The agent's result read from its output: the pull request it named, and the summary of its last lines.
import { findPrUrl, summarize } from '../../../src/agent/result.js';

// ---------------------------------------------------------------- results

describe('findPrUrl', () => {
  test('finds a GitHub pull request URL', () => {
    expect(findPrUrl(['working…', 'Opened https://github.com/acme/billing-api/pull/77 for review'])).toBe(
      'https://github.com/acme/billing-api/pull/77',
    );
  });

  test('finds a GitLab merge request URL', () => {
    expect(findPrUrl(['see https://gitlab.com/acme/api/-/merge_requests/12'])).toBe('https://gitlab.com/acme/api/-/merge_requests/12');
  });

  test('prefers the latest one: last line, last match', () => {
    const lines = ['https://github.com/a/b/pull/1', 'https://github.com/a/b/pull/2 and https://github.com/a/b/pull/3', 'all done'];
    expect(findPrUrl(lines)).toBe('https://github.com/a/b/pull/3');
  });

  test('leaves out surrounding punctuation', () => {
    expect(findPrUrl(['(https://github.com/a/b/pull/9).'])).toBe('https://github.com/a/b/pull/9');
    expect(findPrUrl(['<https://github.com/a/b/pull/9>'])).toBe('https://github.com/a/b/pull/9');
  });

  test('ignores issue links and text without URLs', () => {
    expect(findPrUrl(['fixed https://github.com/a/b/issues/58', 'no link here'])).toBeUndefined();
    expect(findPrUrl([])).toBeUndefined();
  });
});

describe('summarize', () => {
  test('is the last five non-empty lines', () => {
    const lines = ['1', '2', '', '3', '4', '  ', '5', '6', '7', ''];
    expect(summarize(lines, 'fallback')).toBe('3\n4\n5\n6\n7');
  });

  test('falls back when the agent said nothing', () => {
    expect(summarize([], 'the agent finished without output')).toBe('the agent finished without output');
    expect(summarize(['', '   '], 'nothing')).toBe('nothing');
  });

  test('keeps the end of very long output, marked as cut', () => {
    const s = summarize(['start ' + 'x'.repeat(5000) + ' END'], 'f');
    expect(s.length).toBeLessThanOrEqual(1501);
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith(' END')).toBe(true);
  });
});
