/**
 * ReconcilePorts from real storage, written once: presence reads from the conversations table and the same publish
 * path the receiver uses. The poller handler, `npm run backfill`, the bench and the tests all build them here, so
 * none of them can wire a different table or skip the archive.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { publishEvent, type PublishPorts } from '../ingest/publish-event.js';
import { readStoredConversations } from './conversation-presence.js';
import type { ConversationsApi } from './elevenlabs-api.js';
import type { ReconcilePorts } from './reconcile-range.js';
import { publishRecording, type RecordingArchive } from './recording-publish.js';

/** Where a reconciliation reads which conversations are stored, and where it publishes what it back-fills. */
export interface ReconcileStorage {
  readonly documentClient: DynamoDBDocumentClient;
  readonly conversationsTableName: string;
  /** The archive bucket and ingest queue (createAwsPublishPorts). */
  readonly publishPorts: PublishPorts;
  /** Where recordings are streamed before their claim check is queued (createAwsRecordingArchive). */
  readonly recordingArchive: RecordingArchive;
}

/**
 * The ports reconcileRange and runPoller need: `readStored` = readStoredConversations on the conversations table,
 * `publish` = publishEvent with `storage.publishPorts`, `publishRecording` through `storage.recordingArchive` and
 * the same publish path, plus the optional clock, time budget, logger, progress and detail-call pool.
 */
export function createReconcilePorts(
  storage: ReconcileStorage,
  api: ConversationsApi,
  extras: Partial<Pick<ReconcilePorts, 'nowMs' | 'remainingTimeMs' | 'logger' | 'onProgress' | 'detailPool'>> = {},
): ReconcilePorts {
  const { documentClient, conversationsTableName, publishPorts, recordingArchive } = storage;
  const publish = (input: Parameters<ReconcilePorts['publish']>[0]) => publishEvent(input, publishPorts);
  return {
    api,
    readStored: (ids, options) => readStoredConversations(documentClient, conversationsTableName, ids, options),
    publish,
    publishRecording: (recording) => publishRecording(recording, { archive: recordingArchive, publish }),
    ...extras,
  };
}
