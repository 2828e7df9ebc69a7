// Small modules: a file of src/ over 360 lines says why at its top, in a line
// of its own that starts `// Over 350 lines:` (README, "Working on the code").
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(process.cwd(), 'src');
const LIMIT = 360;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The file's opening comment lines. */
const header = (text: string) =>
  text.split('\n').slice(
    0,
    text.split('\n').findIndex((l) => !l.startsWith('//')),
  );

test('every file of src/ over 360 lines says why at its top', () => {
  const files = sources(SRC);
  expect(files.length).toBeGreaterThan(100);
  const unexplained = files
    .map((f) => ({ file: relative(SRC, f), text: readFileSync(f, 'utf8') }))
    .filter(({ text }) => text.split('\n').length > LIMIT && !header(text).some((l) => l.startsWith('// Over 350 lines:')))
    .map(({ file }) => file);
  expect(unexplained).toEqual([]);
});

test('the check sees a long file without a reason', () => {
  const long = ['// A module.', ...Array.from({ length: LIMIT + 5 }, (_, i) => `export const x${i} = ${i};`)].join('\n');
  expect(header(long).some((l) => l.startsWith('// Over 350 lines:'))).toBe(false);
  expect(header(`// A module.\n// Over 350 lines: a reason.\nexport {};`).some((l) => l.startsWith('// Over 350 lines:'))).toBe(true);
});
