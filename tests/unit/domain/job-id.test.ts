import { assertJobId, bullmqAcceptsJobId, isJobId, newJobId, type RandomSource } from '../../../src/domain/job-id.js';

/** A random source that always gives the same bytes, repeated to the size asked. */
const fixedSource =
  (bytes: number[]): RandomSource =>
  (size) =>
    Uint8Array.from({ length: size }, (_, i) => bytes[i % bytes.length] as number);

/** What the old generator (12 hex characters) made from the same source. */
const oldJobId = (random: RandomSource) => Buffer.from(random(6)).toString('hex');

describe('newJobId', () => {
  test('bytes that made an all-digit id before (BullMQ refused it) now make an id BullMQ accepts', () => {
    // The bytes behind `106669437810`, the id of the failing CI run in issue 13.
    const source = fixedSource([0x10, 0x66, 0x69, 0x43, 0x78, 0x10]);
    expect(oldJobId(source)).toBe('106669437810');
    expect(bullmqAcceptsJobId(oldJobId(source))).toBe(false);

    const id = newJobId(source);
    expect(isJobId(id)).toBe(true);
    expect(bullmqAcceptsJobId(id)).toBe(true);
  });

  test('a source that yields only bytes mapping to digits still gives an id that is not a number', () => {
    for (const digit of [0, 1, 5, 9]) {
      const id = newJobId(fixedSource([digit, digit + 32, digit + 64, digit + 224]));
      expect(id).toBe(`j${String(digit).repeat(10)}`);
      expect(isJobId(id)).toBe(true);
      expect(bullmqAcceptsJobId(id)).toBe(true);
    }
  });

  test('ids are short, lowercase letters and digits, and fit a container name and a Redis key', () => {
    for (let i = 0; i < 200; i++) {
      const id = newJobId();
      expect(id).toMatch(/^j[0-9a-z]{10}$/);
      expect(id).not.toMatch(/[ilou]/); // Crockford's alphabet: nothing to misread
      expect(isJobId(id)).toBe(true);
    }
  });

  test('every byte value maps to a symbol, so a real source always gives a valid id', () => {
    const all = Array.from({ length: 256 }, (_, b) => b);
    for (let start = 0; start < 256; start += 10) expect(isJobId(newJobId(fixedSource(all.slice(start, start + 10))))).toBe(true);
  });

  test('a source that gives too few bytes is an error, not a short id', () => {
    expect(() => newJobId(() => new Uint8Array(3))).toThrow(/10 random bytes/);
  });
});

describe('isJobId', () => {
  test('accepts the 12-hex ids of earlier versions unless BullMQ would refuse them', () => {
    expect(isJobId('a1b2c3d4e5f6')).toBe(true);
    expect(isJobId('106669437810')).toBe(false);
    expect(isJobId('012345678901')).toBe(true); // parseInt drops the leading zero, so BullMQ takes it
  });

  test.each([
    ['all digits', '123456789012'],
    ['empty', ''],
    ['upper case', 'J0123456789'],
    ['a letter outside the alphabet', 'j012345678i'],
    ['too long', 'j01234567890'],
    ['too short', 'j012345678'],
    ['a Redis key pattern', 'j*'],
    ['a key separator', 'j01234:6789'],
    ['a path', '../../etc/x'],
  ])('refuses %s', (_, value) => {
    expect(isJobId(value)).toBe(false);
    expect(() => assertJobId(value)).toThrow(expect.objectContaining({ code: 'JOB_ID_INVALID' }));
  });

  test('refuses what is not a string', () => {
    for (const value of [undefined, null, 123456789012, {}, ['j0123456789']]) expect(isJobId(value)).toBe(false);
  });
});
