// The small HTTP helpers of the dispatcher's own listener: route matching and
// the loopback check that guards pages without a login.
import type { IncomingMessage } from 'node:http';
import { compilePath, isLoopbackHost } from '../../../src/web/http.js';
import { staticFile } from '../../../src/web/static-files.js';

const withHost = (host: string | undefined) => ({ headers: host === undefined ? {} : { host } }) as IncomingMessage;

describe('compilePath', () => {
  const match = compilePath('/dashboard/jobs/:id');
  test('matches segments and decodes the named ones', () => {
    expect(match('/dashboard/jobs/j123')).toEqual({ id: 'j123' });
    expect(match('/dashboard/jobs/a%20b')).toEqual({ id: 'a b' });
  });
  test('refuses other shapes, empty segments and broken escapes', () => {
    for (const p of ['/dashboard/jobs', '/dashboard/jobs/', '/dashboard/jobs/a/b', '/dashboard/job/a', '/dashboard/jobs/%E0%A4%A'])
      expect(match(p)).toBeUndefined();
    expect(compilePath('/')('/')).toEqual({});
    expect(compilePath('/')('/x')).toBeUndefined();
  });
});

describe('isLoopbackHost', () => {
  test.each(['localhost', 'localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'LOCALHOST:3000'])('%s is this machine', (h) =>
    expect(isLoopbackHost(withHost(h))).toBe(true),
  );
  test.each(['evil.example', 'localhost.evil.example:3000', '127.0.0.1.nip.io', '10.0.0.1:3000', '', undefined])('%s is not', (h) =>
    expect(isLoopbackHost(withHost(h))).toBe(false),
  );
});

describe('staticFile', () => {
  test('serves the pages by plain name only', () => {
    expect(staticFile('chat.js')?.type).toBe('text/javascript; charset=utf-8');
    expect(staticFile('dashboard.html')?.body.toString()).toContain('<table');
    for (const bad of ['../http.ts', '..%2Fhttp.ts', 'http.ts', '.hidden.js', 'CHAT.JS', 'missing.js'])
      expect(staticFile(bad)).toBeUndefined();
  });
});
