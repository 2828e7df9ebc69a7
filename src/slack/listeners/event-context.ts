// The chat event of a Slack delivery (chat/chat-event.ts): its `ref` is the
// event id, else the trigger of a command or button press, else the action's
// or message's own timestamp. The dedupe middleware makes it once and puts it
// on Bolt's context; the listeners take it from there.
import type { Context } from '@slack/bolt';
import { chatEvent, type ChatEvent } from '../../chat/chat-event.js';
import type { Logger } from '../../observability/logger.js';

interface DeliveryBody {
  event_id?: string;
  trigger_id?: string;
  actions?: { action_ts?: string }[];
  event?: { ts?: string };
}

/** The delivery's correlation key, or undefined when Slack sent nothing to name it by. */
export function deliveryRef(body: DeliveryBody): string | undefined {
  return body.event_id ?? body.trigger_id ?? body.actions?.[0]?.action_ts ?? body.event?.ts;
}

/** Puts the delivery's chat event on Bolt's context (the dedupe middleware, once per delivery). */
export function attachChatEvent(context: Context, body: DeliveryBody, logger: Logger): ChatEvent | undefined {
  const ref = deliveryRef(body);
  if (ref === undefined) return undefined;
  const event = chatEvent(logger, ref);
  context.chatEvent = event;
  return event;
}

/** The delivery's chat event: the one the middleware made, or made here (a listener called on its own, in tests). */
export function chatEventOf(context: Context, body: DeliveryBody, logger: Logger): ChatEvent {
  return (context.chatEvent as ChatEvent | undefined) ?? chatEvent(logger, deliveryRef(body) ?? 'unknown');
}
