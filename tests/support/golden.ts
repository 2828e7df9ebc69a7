// Golden files: a rendered value is compared with the JSON file checked in
// next to the test. UPDATE_GOLDEN=1 writes the files instead (then review the diff).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const updatingGoldens = process.env.UPDATE_GOLDEN === '1';

/** Compares `actual` with `tests/<dir>/golden/<name>.json` (relative to the repository root). */
export function expectGolden(dir: string, name: string, actual: unknown): void {
  const file = join(process.cwd(), 'tests', dir, 'golden', `${name}.json`);
  const written = `${JSON.stringify(actual, null, 2)}\n`;
  if (updatingGoldens) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, written);
    return;
  }
  if (!existsSync(file)) throw new Error(`no golden file ${file}: run the test with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(JSON.parse(written)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
}

/** Like expectGolden, for text (HTML, say) kept as is in `tests/<dir>/golden/<name>`. */
export function expectGoldenText(dir: string, name: string, actual: string): void {
  const file = join(process.cwd(), 'tests', dir, 'golden', name);
  const written = actual.endsWith('\n') ? actual : `${actual}\n`;
  if (updatingGoldens) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, written);
    return;
  }
  if (!existsSync(file)) throw new Error(`no golden file ${file}: run the test with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(written).toBe(readFileSync(file, 'utf8'));
}
