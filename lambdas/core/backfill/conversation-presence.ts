/**
 * Which conversations the table already holds, asked in bulk: one BatchGetItem per 100 ids (DynamoDB's limit),
 * projecting only what the back-fill needs, never one read per conversation.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { StorageError } from '../errors.js';

/** Set by the consumer once a record holds the conversation's transcription (webhook or poller copy). */
export const TRANSCRIPTION_MARKER = 'transcription_body_sha256';

/**
 * Set by the consumer when that transcription carried its turn-by-turn transcript (`inline` or `s3`); absent after a
 * JSON transcription sent with `exclude_transcript`.
 */
export const TRANSCRIPT_LOCATION_ATTRIBUTE = 'transcript_location';

/** Set by the consumer once the audio endpoint answered "no recording" for the conversation. */
export const AUDIO_UNAVAILABLE_ATTRIBUTE = 'audio_unavailable';

/** DynamoDB's BatchGetItem key limit. */
export const BATCH_GET_MAX_KEYS = 100;

/** What the back-fill needs to know about a stored conversation record. */
export interface StoredConversationState {
  /**
   * The record holds the JSON transcription with its transcript. Without it the conversation still counts as missing,
   * and its transcript is back-filled from `GET /v1/convai/conversations/{id}` (JSON). That covers a record holding
   * only audio, a failure event or the OpenTelemetry form (`post_call_transcription_otel`, a section of its own), and
   * one whose JSON transcription came without `transcript` (`exclude_transcript`). A transcript of no turns (`[]`) is
   * a transcript.
   */
  readonly hasTranscription: boolean;
  /** The record holds the recording (its `audio` section is set). */
  readonly hasAudio: boolean;
  /** The record's own `has_audio` (from the transcription): whether ElevenLabs has a recording at all. */
  readonly audioExpected?: boolean;
  /** The audio endpoint answered "no recording" for it (`audio_unavailable` is set): not asked again. */
  readonly audioUnavailable?: boolean;
}

export interface ReadStoredOptions {
  /** Also project `has_audio`, `audio.s3_key` and `audio_unavailable`, still in the same single BatchGet. @default false */
  readonly includeAudio?: boolean;
  /** BatchGet rounds for keys DynamoDB left unprocessed (throttling) before giving up. @default 8 */
  readonly maxAttempts?: number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); jitter for the unprocessed-keys backoff. @default Math.random */
  readonly random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The stored state of each id that has a record (ids without one are absent from the map). Duplicate ids are asked
 * once. Keys DynamoDB leaves unprocessed are retried with jittered exponential backoff; throws StorageError when a
 * call fails or keys stay unprocessed after `maxAttempts` rounds.
 */
export async function readStoredConversations(
  client: DynamoDBDocumentClient,
  tableName: string,
  ids: readonly string[],
  options: ReadStoredOptions = {},
): Promise<Map<string, StoredConversationState>> {
  const unique = [...new Set(ids)];
  const found = new Map<string, StoredConversationState>();
  const includeAudio = options.includeAudio ?? false;
  const projection: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } = includeAudio
    ? {
        ProjectionExpression: '#id, #transcription, #transcript, #has_audio, #audio.#s3_key, #unavailable.#status',
        ExpressionAttributeNames: {
          '#id': 'conversation_id',
          '#transcription': TRANSCRIPTION_MARKER,
          '#transcript': TRANSCRIPT_LOCATION_ATTRIBUTE,
          '#has_audio': 'has_audio',
          '#audio': 'audio',
          '#s3_key': 's3_key',
          '#unavailable': AUDIO_UNAVAILABLE_ATTRIBUTE,
          '#status': 'status_code',
        },
      }
    : {
        ProjectionExpression: '#id, #transcription, #transcript',
        ExpressionAttributeNames: { '#id': 'conversation_id', '#transcription': TRANSCRIPTION_MARKER, '#transcript': TRANSCRIPT_LOCATION_ATTRIBUTE },
      };
  const maxAttempts = options.maxAttempts ?? 8;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  for (let offset = 0; offset < unique.length; offset += BATCH_GET_MAX_KEYS) {
    let keys: Array<Record<string, NativeAttributeValue>> = unique.slice(offset, offset + BATCH_GET_MAX_KEYS).map((id) => ({ conversation_id: id }));
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > maxAttempts) throw new StorageError(`DynamoDB left ${keys.length} keys unprocessed after ${maxAttempts} BatchGetItem rounds`);
      if (attempt > 1) await sleep(Math.floor(random() * Math.min(2000, 50 * 2 ** (attempt - 2))));
      let response;
      try {
        response = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ...projection } } }));
      } catch (error) {
        throw new StorageError('reading conversation records (BatchGetItem) failed', { cause: error });
      }
      for (const item of response.Responses?.[tableName] ?? []) {
        const id = item.conversation_id;
        if (typeof id !== 'string') continue;
        const audio = item.audio as { s3_key?: unknown } | undefined;
        const hasAudioFlag = item.has_audio;
        found.set(id, {
          hasTranscription: item[TRANSCRIPTION_MARKER] !== undefined && item[TRANSCRIPT_LOCATION_ATTRIBUTE] !== undefined,
          hasAudio: typeof audio?.s3_key === 'string',
          ...(typeof hasAudioFlag === 'boolean' ? { audioExpected: hasAudioFlag } : {}),
          ...(includeAudio ? { audioUnavailable: item[AUDIO_UNAVAILABLE_ATTRIBUTE] !== undefined } : {}),
        });
      }
      keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}

/** The ids (deduplicated, in first-seen order) whose record is absent or does not yet hold the JSON transcript. */
export async function findMissingConversationIds(
  client: DynamoDBDocumentClient,
  tableName: string,
  ids: readonly string[],
  options: Omit<ReadStoredOptions, 'includeAudio'> = {},
): Promise<string[]> {
  const stored = await readStoredConversations(client, tableName, ids, { ...options, includeAudio: false });
  return [...new Set(ids)].filter((id) => stored.get(id)?.hasTranscription !== true);
}
