// The layout's rules (README, "How it fits together"), checked by `npm run lint:layout`
// in CI. Type-only imports count: a type that points up is a dependency that points up.
// A folder added to src/ comes with its rule here, in the same commit.
//
// Low to high: errors.ts and domain/ → observability/ → shared/ → messages/, config/, trackers/,
// state/, spawners/, inference/ → jobs/ (jobs/run/) → chat/ → the adapters (slack/,
// local-chat/), dashboard/, web/ → dispatcher.ts → main.ts. The agent/ runner is a
// program of its own (it runs in the container) and stands on domain/, trackers/ and shared/.

/** Forbids `from` (a folder of src/) to import anything but `allowed` (folders or files of src/). */
const onlyImports = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^src/${from}` },
  to: { path: '^src/', pathNot: `^src/(${[from, ...allowed].join('|')})` },
});

/** Forbids `from` to import any of `forbidden`. */
const neverImports = (name, from, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^src/${from}` },
  to: { path: `^src/(${forbidden.join('|')})` },
});

const ERRORS = 'errors\\.ts$';
const ENTRY = ['dispatcher\\.ts$', 'main\\.ts$'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: one of its imports points up; move the shared piece down (a type to domain/, a port to jobs/ports.ts).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    onlyImports(
      'domain-is-pure',
      'domain/',
      [ERRORS],
      'domain/ is pure: intents, job, events, messages, rules. It imports nothing of ours but errors.ts.',
    ),
    onlyImports('errors-stand-alone', ERRORS, [], 'errors.ts is the bottom of the tree.'),
    onlyImports(
      'agent-closure',
      'agent/',
      ['domain/', 'trackers/', 'shared/', ERRORS],
      "The runner in the container loads only domain/, trackers/, shared/ (mechanisms with no dispatcher in them) and errors.ts: not the dispatcher's config, Slack or state.",
    ),
    onlyImports(
      'shared-low',
      'shared/',
      ['observability/', ERRORS],
      'shared/ holds mechanisms many folders use (retry while a peer does not answer, a pause): they know no folder above.',
    ),
    onlyImports(
      'observability-low',
      'observability/',
      ['domain/', ERRORS],
      'Logging and metrics are used by everyone, so they use nobody.',
    ),
    onlyImports(
      'messages-from-domain',
      'messages/',
      ['domain/', ERRORS],
      'Job cards are built from domain data only, so every chat adapter can show them.',
    ),
    onlyImports('trackers-low', 'trackers/', ['domain/', 'observability/', ERRORS], 'Trackers are used by the runner: domain/ only.'),
    onlyImports(
      'config-low',
      'config/',
      ['domain/', 'trackers/', 'observability/', ERRORS],
      'config/ reads settings; it knows no Slack, state or jobs.',
    ),
    onlyImports(
      'state-low',
      'state/',
      ['domain/', 'shared/', 'observability/', ERRORS],
      'state/ is Redis: locks, leases, stores. It knows no jobs, chat or spawners.',
    ),
    onlyImports(
      'spawners-low',
      'spawners/',
      ['domain/', 'shared/', 'observability/', ERRORS],
      'Spawners run agents; they know nothing of jobs/, chat/ or slack/.',
    ),
    onlyImports(
      'inference-low',
      'inference/',
      ['domain/', 'shared/', 'config/', 'observability/', ERRORS],
      'The inference router is a service of its own beside the jobs.',
    ),
    onlyImports('web-low', 'web/', ['domain/', 'observability/', ERRORS], 'web/ is the small HTTP server; routes are handed to it.'),
    neverImports(
      'jobs-through-ports',
      'jobs/',
      ['chat/', 'slack/', 'local-chat/', 'dashboard/', 'web/', ...ENTRY],
      'jobs/ reaches the chats only through jobs/ports.ts (JobNotifier, ConversationChat).',
    ),
    neverImports(
      'chat-through-ports',
      'chat/',
      ['slack/', 'local-chat/', 'dashboard/', 'web/', ...ENTRY],
      'chat/ is platform-neutral: the adapters call it and render its replies.',
    ),
    neverImports(
      'slack-adapter',
      'slack/',
      ['local-chat/', 'dashboard/', ...ENTRY],
      'An adapter stands beside the others, under dispatcher.ts.',
    ),
    neverImports(
      'local-chat-adapter',
      'local-chat/',
      ['slack/', 'dashboard/', ...ENTRY],
      'An adapter stands beside the others, under dispatcher.ts.',
    ),
    neverImports(
      'dashboard-reads',
      'dashboard/',
      ['chat/', 'slack/', 'local-chat/', ...ENTRY],
      'The dashboard is a read-only view of jobs.',
    ),
    {
      name: 'entry-points-on-top',
      comment: 'Only main.ts starts a replica (dispatcher.ts); nothing else imports either.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: `^src/(${ENTRY.join('|')})` },
    },
    {
      name: 'no-unknown-folder',
      comment: 'A folder of src/ with no rule above: add its rule here in the same commit (see the top of this file).',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot:
          '^src/(domain|agent|shared|observability|messages|trackers|config|state|spawners|inference|web|jobs|chat|slack|local-chat|dashboard)/|^src/[^/]+\\.ts$',
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/web/static/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
