// The queue's priorities: the catalogue's priority in BullMQ's range.
import { queuePriority } from '../../../src/jobs/job-queue.js';

// ---------------------------------------------------------------- queue priority and docker

describe('queuePriority', () => {
  test('a larger catalogue priority gives a smaller (earlier) BullMQ priority', () => {
    expect(queuePriority(10)).toBeLessThan(queuePriority(0));
    expect(queuePriority(0)).toBeLessThan(queuePriority(-10));
    expect(queuePriority(100)).toBeLessThan(queuePriority(99));
  });

  test('stays within BullMQ range 1 … 2,097,152', () => {
    for (const p of [-1e12, -5e6, -1, 0, 0.4, 1, 999_999, 1e6, 1e12]) {
      const q = queuePriority(p);
      expect(Number.isInteger(q)).toBe(true);
      expect(q).toBeGreaterThanOrEqual(1);
      expect(q).toBeLessThanOrEqual(2_097_152);
    }
    expect(queuePriority(1e12)).toBe(1);
    expect(queuePriority(-1e12)).toBe(2_097_152);
  });
});
