/** DynamoDB stream (through the events pipe) → change events for the bus; the logic is in build-events.ts. */
import { SERVICE } from '../core/contract.js';
import { createObservability } from '../core/observability.js';
import { createChangeEventsHandler, type ChangeEventsHandler } from './build-events.js';
import { readEventsConfig } from './config.js';

export const handler: ChangeEventsHandler = createChangeEventsHandler(readEventsConfig(process.env), createObservability(SERVICE.events));
