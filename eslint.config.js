import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The pages' own scripts: plain browser JavaScript, served as is (no build step).
    files: ['src/web/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'fetch',
          'URL',
          'URLSearchParams',
          'EventSource',
          'Node',
          'setTimeout',
          'clearTimeout',
          'console',
          'HTMLDialogElement',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // Build helpers (scripts/), run with Node.
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    // Tool configuration in CommonJS (.dependency-cruiser.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The demo project's agent (runs with Node inside the agent image).
    files: ['demo/**/*.mjs'],
    languageOptions: { globals: Object.fromEntries(['console', 'process', 'setTimeout'].map((g) => [g, 'readonly'])) },
  },
);
