// The one way Switchboard calls Slack's Web API for a job. See slack-delivery.ts.
export {
  SlackDelivery,
  workspaceOf,
  type CallRequest,
  type Delivery,
  type SlackDeliveryOptions,
  type StatusPacer,
} from './slack-delivery.js';
export { createDeliveryClient } from './slack-calls.js';
export { defaultBudgetSettings, type BudgetSettings } from './budgets.js';
export { PRIORITY } from './delivery-lane.js';
