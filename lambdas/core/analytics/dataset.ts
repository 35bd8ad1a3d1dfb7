/**
 * The query-ready dataset: one row per stored change of a conversation, Parquet under `analytics/conversations/`,
 * partitioned by the conversation's start day. One column list for everything that touches it: the Glue table the
 * stack creates (and Firehose converts with), the local pipeline's Parquet writer, both engines' views, the README.
 *
 * Pure constants only: the CDK app imports this module too.
 */
import { OBJECT_PREFIX } from '../contract.js';

/** Glue (Hive) column types the dataset uses. */
export type DatasetColumnType = 'string' | 'bigint' | 'int' | 'double' | 'boolean';

export interface DatasetColumn {
  readonly name: string;
  readonly type: DatasetColumnType;
  /** The Glue column comment, and the README's "meaning". */
  readonly comment: string;
}

/** Every data column, in file order. The partition column `start_day` is not in the files (it is in the key). */
export const DATASET_COLUMNS = [
  { name: 'conversation_id', type: 'string', comment: 'ElevenLabs conversation id' },
  { name: 'agent_id', type: 'string', comment: 'agent id' },
  { name: 'agent_name', type: 'string', comment: 'agent name' },
  { name: 'branch_id', type: 'string', comment: 'agent branch' },
  { name: 'version_id', type: 'string', comment: 'agent version' },
  { name: 'status', type: 'string', comment: 'done, failed (call initiation failure), ...' },
  { name: 'start_time_unix_secs', type: 'bigint', comment: 'call start (unix seconds)' },
  { name: 'start_time_source', type: 'string', comment: 'metadata, or the event whose time stood in for it' },
  { name: 'call_duration_secs', type: 'double', comment: 'call duration in seconds' },
  { name: 'message_count', type: 'int', comment: 'transcript turns' },
  { name: 'call_successful', type: 'string', comment: 'success, failure or unknown (analysis)' },
  { name: 'call_summary_title', type: 'string', comment: 'summary title (analysis)' },
  { name: 'transcript_summary', type: 'string', comment: 'summary of the call (analysis; personal data)' },
  { name: 'termination_reason', type: 'string', comment: 'why the call ended (metadata)' },
  { name: 'main_language', type: 'string', comment: 'main language (metadata)' },
  { name: 'failure_reason', type: 'string', comment: 'call initiation failure reason: busy, no-answer, unknown' },
  { name: 'has_recording', type: 'boolean', comment: 'a recording is stored' },
  { name: 'cost', type: 'double', comment: 'cost in ElevenLabs credits (metadata.cost)' },
  { name: 'cost_usd', type: 'double', comment: 'cost in US dollars (metadata.cost_fiat), when ElevenLabs gives it' },
  { name: 'evaluation_criteria_results', type: 'string', comment: 'JSON: criteria id -> {criteria_id, result, rationale, ...} (analysis)' },
  { name: 'data_collection_results', type: 'string', comment: 'JSON: data collection id -> {data_collection_id, value, rationale, ...} (analysis; personal data)' },
  { name: 'sources', type: 'string', comment: 'delivery paths seen: webhook, poller (comma-separated)' },
  { name: 'first_received_at', type: 'string', comment: 'ISO-8601 time of the first delivery' },
  { name: 'updated_at', type: 'string', comment: 'ISO-8601 time of this write' },
  { name: 'record_version', type: 'bigint', comment: 'the record version this row shows (the newest per conversation wins)' },
  { name: 'exported_at', type: 'string', comment: 'ISO-8601 time the row was made (breaks ties between rows of one version)' },
  { name: 'transcript_text', type: 'string', comment: 'the transcript, one "role: message" line per turn; null unless analyticsIncludeTranscripts' },
] as const satisfies readonly DatasetColumn[];

export type DatasetColumnName = (typeof DATASET_COLUMNS)[number]['name'];

/** Where and how the dataset is laid out, and what the catalog calls it. */
export const DATASET = {
  /** Key prefix of the rows (Hive layout: `start_day=YYYY-MM-DD/`). */
  prefix: `${OBJECT_PREFIX.analytics}conversations/`,
  partitionColumn: 'start_day',
  /** The table of every row written. */
  table: 'conversations',
  /** The view with the newest row of each conversation: what the named queries read. */
  latestView: 'conversations_latest',
  /** First day the partition projection knows; conversations starting earlier are not queryable. */
  firstDay: '2020-01-01',
} as const;

/** The Glue database of a stack: its name in lower case, letters and digits kept, with `_analytics` (Glue's rule). */
export function analyticsDatabaseName(stackName: string): string {
  return `${stackName.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')}_analytics`;
}

/** A row of the dataset: every column (null when unknown), plus the partition value. */
export type DatasetRow = { readonly [K in DatasetColumnName]: string | number | boolean | null } & { readonly start_day: string };

/** `analytics/conversations/start_day=<day>/`: the prefix of one day's rows. */
export function datasetDayPrefix(day: string): string {
  return `${DATASET.prefix}${DATASET.partitionColumn}=${day}/`;
}
