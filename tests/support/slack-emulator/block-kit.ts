// Block Kit checks that Slack applies to chat.postMessage / chat.update /
// chat.postEphemeral. Errors use Slack's wording style:
// "<problem> [json-pointer:/blocks/0/text]".

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  actionId: 255,
  buttonValue: 2000,
  blockId: 255,
  messageText: 40000,
} as const;

const KNOWN_BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'rich_text',
  'section',
  'video',
  'markdown',
  'call',
  'table',
  'context_actions',
]);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function textOf(v: unknown): string | undefined {
  return isObj(v) && typeof v.text === 'string' ? v.text : undefined;
}

function checkTextObject(v: unknown, max: number, ptr: string, errors: string[], plainOnly = false): void {
  if (!isObj(v) || typeof v.text !== 'string') {
    errors.push(`must provide an object with a text string [json-pointer:${ptr}]`);
    return;
  }
  if (v.type !== 'plain_text' && v.type !== 'mrkdwn') {
    errors.push(`must be one of plain_text or mrkdwn [json-pointer:${ptr}/type]`);
  } else if (plainOnly && v.type !== 'plain_text') {
    errors.push(`must be plain_text [json-pointer:${ptr}/type]`);
  }
  if (v.text.length > max) errors.push(`must be less than ${max + 1} characters [json-pointer:${ptr}/text]`);
  if (v.text.length === 0) errors.push(`must be more than 0 characters [json-pointer:${ptr}/text]`);
}

function checkElement(el: unknown, ptr: string, errors: string[]): void {
  if (!isObj(el) || typeof el.type !== 'string') {
    errors.push(`must provide an element object with a type [json-pointer:${ptr}]`);
    return;
  }
  if (typeof el.action_id === 'string' && el.action_id.length > LIMITS.actionId) {
    errors.push(`must be less than ${LIMITS.actionId + 1} characters [json-pointer:${ptr}/action_id]`);
  }
  if (el.type === 'button') {
    checkTextObject(el.text, LIMITS.buttonText, `${ptr}/text`, errors, true);
    if (typeof el.value === 'string' && el.value.length > LIMITS.buttonValue) {
      errors.push(`must be less than ${LIMITS.buttonValue + 1} characters [json-pointer:${ptr}/value]`);
    }
  }
}

/** Returns Slack-style error strings; an empty list means the blocks are valid. */
export function validateBlocks(blocks: unknown): string[] {
  const errors: string[] = [];
  if (!Array.isArray(blocks)) return ['must be an array [json-pointer:/blocks]'];
  if (blocks.length > LIMITS.blocks) errors.push(`must be less than ${LIMITS.blocks + 1} items [json-pointer:/blocks]`);
  blocks.forEach((block, i) => {
    const ptr = `/blocks/${i}`;
    if (!isObj(block) || typeof block.type !== 'string') {
      errors.push(`must provide an object with a type [json-pointer:${ptr}]`);
      return;
    }
    if (!KNOWN_BLOCK_TYPES.has(block.type)) {
      errors.push(`unsupported type: ${block.type} [json-pointer:${ptr}/type]`);
      return;
    }
    if (typeof block.block_id === 'string' && block.block_id.length > LIMITS.blockId) {
      errors.push(`must be less than ${LIMITS.blockId + 1} characters [json-pointer:${ptr}/block_id]`);
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) {
          errors.push(`must provide either text or fields [json-pointer:${ptr}]`);
        }
        if (block.text !== undefined) checkTextObject(block.text, LIMITS.sectionText, `${ptr}/text`, errors);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) {
            errors.push(`must be an array [json-pointer:${ptr}/fields]`);
          } else {
            if (block.fields.length > LIMITS.sectionFields) {
              errors.push(`must be less than ${LIMITS.sectionFields + 1} items [json-pointer:${ptr}/fields]`);
            }
            block.fields.forEach((f, j) => checkTextObject(f, LIMITS.sectionFieldText, `${ptr}/fields/${j}`, errors));
          }
        }
        if (block.accessory !== undefined) checkElement(block.accessory, `${ptr}/accessory`, errors);
        break;
      }
      case 'header':
        checkTextObject(block.text, LIMITS.headerText, `${ptr}/text`, errors, true);
        break;
      case 'context':
      case 'actions': {
        const max = block.type === 'context' ? LIMITS.contextElements : LIMITS.actionsElements;
        if (!Array.isArray(block.elements) || block.elements.length === 0) {
          errors.push(`must provide a non-empty elements array [json-pointer:${ptr}/elements]`);
          break;
        }
        if (block.elements.length > max) {
          errors.push(`must be less than ${max + 1} items [json-pointer:${ptr}/elements]`);
        }
        if (block.type === 'actions') {
          block.elements.forEach((el, j) => checkElement(el, `${ptr}/elements/${j}`, errors));
        } else {
          block.elements.forEach((el, j) => {
            if (!isObj(el) || (el.type !== 'image' && textOf(el) === undefined)) {
              errors.push(`must be a text or image element [json-pointer:${ptr}/elements/${j}]`);
            }
          });
        }
        break;
      }
      default:
        break;
    }
  });
  return errors;
}
