// The local chat page's HTTP surface (SLACK_MODE=local): the page, its
// messages, the live feed, and the two things a person does — write a message
// and press a button — which go to the chat adapter. The page needs no login,
// so every route answers only requests addressed to this machine, and the
// two POSTs only same-origin JSON (a page elsewhere cannot send them for you).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';
import { MAX_MESSAGE_LENGTH } from '../domain/intents.js';
import { handled, isLoopbackHost, paramsOf, queryOf, readJson, send, sendJson } from '../web/http.js';
import { sendStatic } from '../web/static-files.js';
import type { LocalChatFeed } from './local-chat-feed.js';
import { isLocalMessageId, toWire, type LocalChatStore } from './local-chat-store.js';
import type { HtmlNames } from './render/html.js';

export interface LocalChannel {
  id: string;
  name: string;
}

/** What the adapter does with what a person did on the page. */
export interface LocalChatHandler {
  /** `message` was just posted by a person (in a thread when it has `threadId`). */
  message(posted: { id: string; channel: string; threadId?: string; user: string; text: string }): Promise<void>;
  /** A person pressed a button of the bot's message `messageId`. */
  action(press: { messageId: string; channel: string; threadId?: string; user: string; actionId: string; value?: string }): Promise<void>;
}

export interface LocalChatRouteDeps {
  channels: readonly LocalChannel[];
  /** The one person of the local page. */
  user: string;
  store: LocalChatStore;
  feed: LocalChatFeed;
  handler: LocalChatHandler;
  names: HtmlNames;
  logger: Logger;
}

/** Same-origin JSON only: a form or script on another site cannot make these requests with a JSON body without a preflight we never answer. */
function sameOriginJson(req: IncomingMessage): boolean {
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host ?? ''}`;
}

const str = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);

export function localChatRoutes(deps: LocalChatRouteDeps): HttpRoute[] {
  const channelIds = new Set(deps.channels.map((c) => c.id));
  const local =
    (what: string, fn: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void) =>
    (req: IncomingMessage, res: ServerResponse) => {
      if (!isLoopbackHost(req)) return send(res, 403, 'text/plain; charset=utf-8', 'The local chat answers only on localhost.\n');
      handled(deps.logger, what, async (rq, rs) => fn(rq, rs))(req, res);
    };
  const post = (what: string, fn: (body: Record<string, unknown>, res: ServerResponse) => Promise<void>) =>
    local(what, async (req, res) => {
      if (!sameOriginJson(req)) return send(res, 403, 'text/plain; charset=utf-8', 'same-origin JSON only\n');
      const body = await readJson(req);
      if (!body || typeof body !== 'object') return send(res, 400, 'text/plain; charset=utf-8', 'expected a JSON object\n');
      await fn(body as Record<string, unknown>, res);
    });

  return [
    { path: '/', method: ['GET'], handler: local('chat page', (_req, res) => sendStatic(res, 'chat.html')) },
    { path: '/assets/:file', method: ['GET'], handler: local('chat asset', (req, res) => sendStatic(res, paramsOf(req).file ?? '')) },
    {
      path: '/local/api/channels',
      method: ['GET'],
      handler: local('channels', (_req, res) => sendJson(res, 200, { channels: deps.channels, user: deps.user })),
    },
    {
      path: '/local/api/channels/:id/messages',
      method: ['GET'],
      handler: local('channel messages', async (req, res) => {
        const channel = paramsOf(req).id ?? '';
        if (!channelIds.has(channel)) return send(res, 404, 'text/plain; charset=utf-8', 'no such channel\n');
        // The cursor first: whatever is posted while the messages are read comes again through the feed.
        const cursor = await deps.store.feedCursor();
        const messages = await deps.store.channelMessages(channel);
        sendJson(res, 200, { messages: messages.map((m) => toWire(m, deps.names)), cursor });
      }),
    },
    {
      path: '/local/api/feed',
      method: ['GET'],
      handler: local('chat feed', (req, res) => deps.feed.serve(req, res, queryOf(req).get('after') ?? undefined)),
    },
    {
      path: '/local/api/messages',
      method: ['POST'],
      handler: post('posting a message', async (body, res) => {
        const channel = str(body.channel, 80);
        const text = str(body.text, MAX_MESSAGE_LENGTH)?.trim();
        const threadId = body.threadId === undefined ? undefined : str(body.threadId, 20);
        if (!channel || !channelIds.has(channel)) return send(res, 400, 'text/plain; charset=utf-8', 'unknown channel\n');
        if (!text) return send(res, 400, 'text/plain; charset=utf-8', `text must be 1 to ${MAX_MESSAGE_LENGTH} characters\n`);
        let thread: string | undefined;
        if (threadId !== undefined) {
          const parent = isLocalMessageId(threadId) ? await deps.store.get(threadId) : undefined;
          if (!parent || parent.channel !== channel) return send(res, 400, 'text/plain; charset=utf-8', 'unknown thread\n');
          thread = parent.threadId ?? parent.id;
        }
        const posted = await deps.store.post({ channel, author: 'user', user: deps.user, text, ...(thread ? { threadId: thread } : {}) });
        await deps.handler.message({ id: posted.id, channel, user: deps.user, text, ...(thread ? { threadId: thread } : {}) });
        sendJson(res, 201, { id: posted.id });
      }),
    },
    {
      path: '/local/api/actions',
      method: ['POST'],
      handler: post('a button press', async (body, res) => {
        const messageId = str(body.messageId, 20) ?? '';
        const actionId = str(body.actionId, 255);
        const value = body.value === undefined ? undefined : str(body.value, 2000);
        const message = isLocalMessageId(messageId) ? await deps.store.get(messageId) : undefined;
        if (!message || message.author !== 'bot' || !actionId)
          return send(res, 400, 'text/plain; charset=utf-8', 'unknown message or action\n');
        // Only buttons the bot's message really has: the press names one of them.
        const offered = (message.message?.blocks ?? []).some(
          (b) => b.type === 'actions' && b.buttons.some((btn) => btn.actionId === actionId && btn.value === value),
        );
        if (!offered) return send(res, 400, 'text/plain; charset=utf-8', 'that message has no such button\n');
        await deps.handler.action({
          messageId,
          channel: message.channel,
          user: deps.user,
          actionId,
          ...(value !== undefined ? { value } : {}),
          ...(message.threadId ? { threadId: message.threadId } : {}),
        });
        send(res, 204, 'text/plain; charset=utf-8', '');
      }),
    },
  ];
}
