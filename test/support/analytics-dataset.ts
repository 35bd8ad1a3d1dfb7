/**
 * A seeded dataset with answers known by construction: conversation records built by the production merge from
 * sample webhook events, turned into rows by the production mapping (several versions of some records, so the
 * newest-row view has work to do), written as Parquet by the local writer into a directory in the bucket's layout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createParquetWriter } from '../../bin/analytics/parquet-files.js';
import type { DatasetRow } from '../../lambdas/core/analytics/dataset.js';
import { datasetRowOf } from '../../lambdas/core/analytics/dataset-row.js';
import { mergeConversationEvent, type ConversationEvent, type ConversationRecord, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { samplePayload } from '../fixtures/webhook-requests.js';

export interface SeedConversation {
  readonly id: string;
  readonly agentId: string;
  /** YYYY-MM-DD: the conversation starts at noon UTC that day. */
  readonly day: string;
  readonly durationSecs?: number;
  readonly callSuccessful?: 'success' | 'failure' | 'unknown';
  readonly terminationReason?: string;
  readonly cost?: number;
  readonly costUsd?: number;
  /** criteria id → result */
  readonly evaluation?: Record<string, 'success' | 'failure' | 'unknown'>;
  /** data collection id → value */
  readonly dataCollection?: Record<string, string | number | boolean>;
  /** A call that failed to start, with this reason, instead of a transcription. */
  readonly initiationFailure?: string;
  /** An earlier transcription of the same call with another duration (an older version row). */
  readonly earlierDurationSecs?: number;
  /** A recording after the transcription (a second version row). */
  readonly withAudio?: boolean;
}

function meta(conversationId: string, eventType: string, index: number, eventTimestamp: number): ConversationEvent['meta'] {
  return {
    conversationId,
    eventType,
    eventTimestamp,
    receivedAt: new Date(eventTimestamp * 1000 + index).toISOString(),
    source: 'webhook',
    archiveKey: `events/seed/${conversationId}/${index}.json.gz`,
    bodySha256: `${conversationId}-${index}`.padEnd(64, '0'),
  };
}

function transcriptionData(seed: SeedConversation, durationSecs: number | undefined, startTime: number): JsonObject {
  const { data } = JSON.parse(samplePayload('post_call_transcription').toString('utf8')) as { data: JsonObject & { metadata: JsonObject; analysis: JsonObject } };
  return {
    ...data,
    conversation_id: seed.id,
    agent_id: seed.agentId,
    metadata: {
      ...data.metadata,
      start_time_unix_secs: startTime,
      call_duration_secs: durationSecs ?? null,
      termination_reason: seed.terminationReason ?? null,
      cost: seed.cost ?? null,
      cost_fiat: seed.costUsd ?? null,
    },
    analysis: {
      ...data.analysis,
      call_successful: seed.callSuccessful ?? 'unknown',
      evaluation_criteria_results: Object.fromEntries(Object.entries(seed.evaluation ?? {}).map(([id, result]) => [id, { criteria_id: id, result, rationale: 'seeded' }])),
      data_collection_results: Object.fromEntries(Object.entries(seed.dataCollection ?? {}).map(([id, value]) => [id, { data_collection_id: id, value, rationale: 'seeded' }])),
    },
  };
}

/** The events of one seeded conversation, in delivery order. */
function eventsOf(seed: SeedConversation): ConversationEvent[] {
  const start = Date.parse(`${seed.day}T12:00:00Z`) / 1000;
  if (seed.initiationFailure !== undefined) {
    const { data } = JSON.parse(samplePayload('call_initiation_failure').toString('utf8')) as { data: JsonObject };
    return [{ kind: 'initiation_failure', meta: meta(seed.id, 'call_initiation_failure', 0, start), data: { ...data, conversation_id: seed.id, agent_id: seed.agentId, failure_reason: seed.initiationFailure } }];
  }
  const events: ConversationEvent[] = [];
  if (seed.earlierDurationSecs !== undefined) events.push({ kind: 'transcription', meta: meta(seed.id, 'post_call_transcription', events.length, start + 100), data: transcriptionData(seed, seed.earlierDurationSecs, start) });
  events.push({ kind: 'transcription', meta: meta(seed.id, 'post_call_transcription', events.length, start + 200), data: transcriptionData(seed, seed.durationSecs, start) });
  if (seed.withAudio === true) {
    const audio = { s3_key: `audio/${seed.id}/seed.mp3`, bytes: 3, content_type: 'audio/mpeg' };
    events.push({ kind: 'audio', meta: meta(seed.id, 'post_call_audio', events.length, start + 300), audio, data: { agent_id: seed.agentId, conversation_id: seed.id } });
  }
  return events;
}

/** Every version of each conversation (one per write), as the consumer would have stored them in turn. */
export function seededRecords(seeds: readonly SeedConversation[]): ConversationRecord[] {
  return seeds.flatMap((seed) => {
    const versions: ConversationRecord[] = [];
    let current: ConversationRecord | undefined;
    for (const event of eventsOf(seed)) {
      const merged = mergeConversationEvent(current, event, event.meta.receivedAt);
      if (merged.kind === 'duplicate') continue;
      current = merged.record;
      versions.push(current);
    }
    return versions;
  });
}

/** One row per stored version, written as the local pipeline writes them; returns the dataset root and the rows. */
export async function writeSeededDataset(directory: string, seeds: readonly SeedConversation[]): Promise<{ readonly root: string; readonly rows: readonly DatasetRow[] }> {
  const rows = seededRecords(seeds).flatMap((record, index) => datasetRowOf(record, { exportedAt: new Date(Date.UTC(2026, 5, 1) + index * 1000).toISOString() }) ?? []);
  const writer = createParquetWriter();
  try {
    for (const file of await writer.filesOf(rows)) {
      const path = join(directory, file.key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.bytes);
    }
  } finally {
    writer.close();
  }
  return { root: join(directory, 'analytics', 'conversations'), rows };
}
