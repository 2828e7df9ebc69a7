// The chat message of an agent's question (DESIGN §2, §5): the question, its
// buttons while it is open, and afterwards who answered what, or that the
// default was applied, or that the job ended first. Platform-neutral (see
// message.ts); only slack/render/ turns it into Block Kit.
import { formatDuration } from './job.js';
import {
  actions,
  bold,
  code,
  contextLine,
  emoji,
  mention,
  section,
  text,
  type Inline,
  type Message,
  type MessageBlock,
} from './message.js';
import {
  ANSWER_ACTION,
  answerOptions,
  answerValue,
  onlyRequesterOrAdmin,
  timeoutAnswer,
  type AskedQuestion,
  type QuestionOutcome,
} from './questions.js';

const LEAD: Record<AskedQuestion['kind'], { icon: string; words: string }> = {
  confirm: { icon: 'question', words: 'The agent asks:' },
  choice: { icon: 'question', words: 'The agent asks you to choose:' },
  approval: { icon: 'lock', words: 'The agent needs approval:' },
  text: { icon: 'speech_balloon', words: 'The agent asks:' },
};

/** `code('x')`, or words for an empty answer (nobody chose, an empty reply). */
function shown(answer: string): Inline[] {
  return answer === '' ? [text('no answer')] : [code(answer)];
}

function afterTimeout(q: AskedQuestion): Inline[] {
  const fallback = timeoutAnswer(q);
  const within = formatDuration(q.timeoutSeconds * 1000);
  return fallback === ''
    ? [text(`If nobody answers within ${within}, the agent is told there is no answer.`)]
    : [text(`If nobody answers within ${within}, the answer is `), ...shown(fallback), text('.')];
}

/** The question while it waits for an answer, or (with `outcome`) as it ended. */
export function questionMessage(q: AskedQuestion, outcome?: QuestionOutcome): Message {
  const lead = LEAD[q.kind];
  const blocks: MessageBlock[] = [section(emoji(lead.icon), text(' '), bold(lead.words), text(` ${q.text}`))];
  if (!outcome) {
    const options = answerOptions(q);
    if (options.length)
      blocks.push(
        actions(
          ...options.map((o, i) => ({
            actionId: ANSWER_ACTION,
            label: o.label,
            value: answerValue(q, i),
            ...(o.style ? { style: o.style } : {}),
          })),
        ),
      );
    const who =
      q.kind === 'text'
        ? [text('Reply in this thread to answer (the requester or a project admin).')]
        : onlyRequesterOrAdmin(q.kind)
          ? [text('Only the requester or a project admin may answer.')]
          : [];
    blocks.push(contextLine(...who, ...(who.length ? [text(' ')] : []), ...afterTimeout(q)));
    return { blocks, summary: [text(`${lead.words} ${q.text}`)] };
  }
  switch (outcome.how) {
    case 'answered':
      blocks.push(contextLine(emoji('white_check_mark'), text(' '), mention(outcome.by), text(' answered '), ...shown(outcome.answer)));
      break;
    case 'timed-out':
      blocks.push(
        contextLine(
          emoji('hourglass'),
          text(` Nobody answered within ${formatDuration(q.timeoutSeconds * 1000)}: `),
          ...(outcome.answer === ''
            ? [text('the agent was told there is no answer.')]
            : [text('the default '), code(outcome.answer), text(' was applied.')]),
        ),
      );
      break;
    case 'ended':
      blocks.push(contextLine(emoji('heavy_minus_sign'), text(' The job ended before this was answered.')));
      break;
  }
  return { blocks, summary: [text(`${lead.words} ${q.text}`)] };
}
