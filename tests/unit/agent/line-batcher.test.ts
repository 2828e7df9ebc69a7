// The agent's output in batches: by interval, size and characters, and capped in rate for a flooding agent.
import { jest } from '@jest/globals';
import { LineBatcher } from '../../../src/agent/line-batcher.js';

// ---------------------------------------------------------------- line batcher

describe('LineBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('hands lines over in one batch once the interval has passed', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 50);
    b.add('a');
    b.add('b');
    jest.advanceTimersByTime(499);
    expect(batches).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([['a', 'b']]);
  });

  test('hands over at once when the batch is full', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 3);
    for (const l of ['1', '2', '3', '4']) b.add(l);
    expect(batches).toEqual([['1', '2', '3']]);
    jest.advanceTimersByTime(500);
    expect(batches).toEqual([['1', '2', '3'], ['4']]);
  });

  test('a batch ends before its joined text would pass maxChars, so a long line never crowds out the next ones', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 50, 10);
    for (const l of ['1234', '5678', 'abcdefghij', 'z']) b.add(l);
    b.flush();
    expect(batches).toEqual([['1234', '5678'], ['abcdefghij'], ['z']]);
  });

  test('flush() hands over what is pending and nothing twice', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines));
    b.flush();
    expect(batches).toEqual([]);
    b.add('x');
    b.flush();
    jest.runAllTimers();
    expect(batches).toEqual([['x']]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('keeps every line, in order, across many batches', () => {
    const seen: string[] = [];
    const b = new LineBatcher((lines) => seen.push(...lines), 100, 7);
    for (let i = 0; i < 100; i++) {
      b.add(String(i));
      if (i % 13 === 0) jest.advanceTimersByTime(100);
    }
    b.flush();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });
});

describe('LineBatcher with a rate (a flooding agent)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('10,000 lines in one second: at most the burst plus the rate of batches go, every other line is counted as dropped, and flush() says the rest', () => {
    const batches: { lines: string[]; dropped: number }[] = [];
    const b = new LineBatcher((lines, dropped) => batches.push({ lines, dropped }), 500, 50, Infinity, { batchesPerSecond: 4, burst: 8 });
    for (let i = 0; i < 10_000; i++) {
      b.add(`line ${i}`);
      if (i % 100 === 99) jest.advanceTimersByTime(10);
    }
    b.flush();
    const sent = batches.reduce((n, x) => n + x.lines.length, 0);
    const dropped = batches.reduce((n, x) => n + x.dropped, 0);
    expect(sent + dropped).toBe(10_000);
    // One second: the burst of 8 and 4 more a second, and the final flush.
    expect(batches.length).toBeLessThanOrEqual(8 + 4 + 1);
    expect(sent).toBeLessThanOrEqual(50 * batches.length);
    expect(dropped).toBeGreaterThan(9000);
    // Kept lines stay in order; the first ones are never dropped.
    expect(batches[0]?.lines[0]).toBe('line 0');
    const all = batches.flatMap((x) => x.lines.map((l) => Number(l.slice(5))));
    expect(all).toEqual([...all].sort((a, z) => a - z));
  });

  test('a quiet agent under the rate loses nothing', () => {
    const seen: string[] = [];
    let dropped = 0;
    const b = new LineBatcher((lines, d) => (seen.push(...lines), (dropped += d)), 500, 50, Infinity, { batchesPerSecond: 4, burst: 8 });
    for (let i = 0; i < 100; i++) {
      b.add(String(i));
      jest.advanceTimersByTime(100);
    }
    b.flush();
    expect(seen).toHaveLength(100);
    expect(dropped).toBe(0);
  });

  test('dropped lines waiting for the next slot are handed over by the timer, with their count', () => {
    const batches: { lines: string[]; dropped: number }[] = [];
    const b = new LineBatcher((lines, dropped) => batches.push({ lines, dropped }), 100, 2, Infinity, { batchesPerSecond: 1, burst: 1 });
    for (const l of ['a', 'b', 'c', 'd', 'e']) b.add(l);
    expect(batches).toEqual([{ lines: ['a', 'b'], dropped: 0 }]);
    jest.advanceTimersByTime(1000);
    expect(batches).toEqual([
      { lines: ['a', 'b'], dropped: 0 },
      { lines: ['c', 'd'], dropped: 1 },
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
