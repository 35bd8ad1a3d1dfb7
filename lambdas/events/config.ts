import { ENV, SERVICE } from '../core/contract.js';
import { createEnvReader, type Environment } from '../core/env-reader.js';

/** The change-event enrichment's settings, read once at start-up. */
export interface EventsConfig {
  /** EVENTS_INCLUDE_PERSONAL_DATA ("true"/"false"): add the summary, user id and phone call to each event. @default false */
  readonly includePersonalData: boolean;
}

/** Reads and validates `env`; one ConfigurationError names every problem. */
export function readEventsConfig(env: Environment = process.env): EventsConfig {
  const read = createEnvReader(SERVICE.events, env);
  return read.done({ includePersonalData: read.flag(ENV.eventsIncludePersonalData, false) });
}
