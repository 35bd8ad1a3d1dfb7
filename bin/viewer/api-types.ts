/**
 * The JSON the viewer's API answers with, shared by the server (bin/viewer/) and the page (bin/viewer/page/). Types
 * only, so the page's bundle takes nothing from Node.
 */

/** Whether the recording can be played: stored in the bucket, announced by ElevenLabs but not stored, or none. */
export type RecordingState = 'stored' | 'not_stored' | 'none';

/** One line of the conversations list. */
export interface ConversationRow {
  readonly conversation_id: string;
  readonly start_time_unix_secs: number;
  readonly agent_id?: string;
  readonly agent_name?: string;
  readonly call_duration_secs?: number;
  readonly status?: string;
  readonly call_successful?: string;
  readonly call_summary_title?: string;
  /** Why the call never started (`busy`, `no-answer`…), for a failed call initiation. */
  readonly failure_reason?: string;
  readonly recording: RecordingState;
}

/** `GET api/conversations`: one page, newest first. */
export interface ConversationPage {
  readonly items: readonly ConversationRow[];
  /** Pass as `after` for the next page; null when the range is exhausted. */
  readonly next: string | null;
  /** The start-time range searched (unix seconds, inclusive). */
  readonly since: number;
  readonly until: number;
  /** Conversations read for this page (filters other than agent and days are applied to what was read). */
  readonly examined: number;
  /**
   * True when the page stopped at the per-request reading budget before filling up: `next` then continues the search
   * (start time of the last conversation read: `searched_to`).
   */
  readonly budget_reached: boolean;
  readonly searched_to?: number;
}

export interface DayCount {
  /** UTC date, YYYY-MM-DD. */
  readonly day: string;
  readonly total: number;
  readonly success: number;
  readonly failure: number;
}

export interface AgentSuccess {
  readonly agent_id: string;
  readonly agent_name?: string;
  readonly total: number;
  readonly success: number;
  readonly failure: number;
  /** Neither success nor failure (unknown, not evaluated, failed to start). */
  readonly other: number;
}

export interface DurationBucket {
  readonly label: string;
  /** Seconds, inclusive lower bound. */
  readonly from: number;
  /** Seconds, exclusive upper bound; null for the last bucket. */
  readonly to: number | null;
  readonly count: number;
}

/** `GET api/overview`: counts over a range of days. */
export interface Overview {
  readonly since: number;
  readonly until: number;
  readonly total: number;
  /** True when more conversations were in the range than one overview reads (the counts cover the newest ones). */
  readonly capped: boolean;
  /** Every day of the range, oldest first (days without conversations count 0). */
  readonly days: readonly DayCount[];
  readonly agents: readonly AgentSuccess[];
  readonly durations: readonly DurationBucket[];
}

/** `GET api/source`: what the viewer reads. */
export interface ViewerSource {
  /** "the local pipeline", or "AWS region eu-west-1". */
  readonly description: string;
  readonly table: string;
  readonly bucket: string;
}

/** Every error answer: `{"error": "<what went wrong, for a person>"}`. */
export interface ApiError {
  readonly error: string;
}
