/**
 * The dataset pipe's enrichment over stream records whose images point at offloaded sections: the row is built from
 * the whole record, and an image whose object a newer write already replaced (and deleted) is skipped, since that
 * write's own stream record brings the newer row.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { datasetRowsOf } from '../../lambdas/analytics/build-rows.js';
import type { StreamImage, TableStreamRecord } from '../../lambdas/core/changes/stream-record.js';
import type { ConversationObjects } from '../../lambdas/core/record/conversation-objects.js';
import { mergeConversationEvent, type ConversationRecord, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { toStorableValue } from '../../lambdas/core/record/stored-value-codec.js';
import { samplePayload } from '../fixtures/webhook-requests.js';

const ID = 'conv_analytics_rows';
const SECTIONS_KEY = `transcripts/${ID}/sections-abc-token.json.gz`;

function transcribedRecord(): ConversationRecord {
  const { data } = JSON.parse(samplePayload('post_call_transcription').toString('utf8')) as { data: JsonObject };
  const meta = { conversationId: ID, eventType: 'post_call_transcription', eventTimestamp: 1767268931, receivedAt: '2026-01-01T12:02:11.000Z', source: 'webhook' as const, archiveKey: 'events/1', bodySha256: '1'.padStart(64, '0') };
  const merged = mergeConversationEvent(undefined, { kind: 'transcription', meta, data: { ...data, conversation_id: ID } }, '2026-01-01T12:02:12.000Z');
  if (merged.kind === 'duplicate') throw new Error('duplicate');
  return merged.record;
}

/** The record as the writer leaves it when its analysis moved to S3: the item names the object and the part. */
function offloaded(record: ConversationRecord): { item: ConversationRecord; sections: JsonObject } {
  const { conversation, ...rest } = record;
  return { item: { ...rest, offloaded_s3_key: SECTIONS_KEY, offloaded_attributes: ['conversation'] }, sections: { conversation: conversation ?? {} } };
}

function insertOf(item: ConversationRecord): TableStreamRecord {
  const image = marshall(toStorableValue(item) as Record<string, unknown>, { removeUndefinedValues: true, convertClassInstanceToMap: false }) as StreamImage;
  return { eventName: 'INSERT', dynamodb: { NewImage: image } };
}

/** The bucket as a map: a missing key fails as S3 does (NoSuchKey). */
function objectsOf(bucket: ReadonlyMap<string, JsonObject>, failure?: Error): Pick<ConversationObjects, 'withSections' | 'readGzipJson'> {
  return {
    withSections(record) {
      if (record.offloaded_s3_key === undefined) return Promise.resolve(record);
      if (failure !== undefined) return Promise.reject(failure);
      const sections = bucket.get(record.offloaded_s3_key);
      if (sections === undefined) return Promise.reject(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
      return Promise.resolve({ ...record, ...sections } as ConversationRecord);
    },
    readGzipJson: () => Promise.reject(new Error('no transcript is read when transcripts are left out')),
  };
}

describe('datasetRowsOf', () => {
  const record = transcribedRecord();
  const { item, sections } = offloaded(record);
  const ports = { includeTranscripts: false, now: () => new Date('2026-01-01T12:03:00.000Z') };

  it('builds the row from the whole record when the image points at offloaded sections', async () => {
    const [fromOffloaded] = await datasetRowsOf([insertOf(item)], { ...ports, objects: objectsOf(new Map([[SECTIONS_KEY, sections]])) });
    const [fromInline] = await datasetRowsOf([insertOf(record)], { ...ports, objects: objectsOf(new Map()) });

    expect(fromOffloaded?.evaluation_criteria_results).not.toBeNull();
    expect(fromOffloaded).toEqual(fromInline);
  });

  it('skips an image whose offloaded object a newer write deleted, and keeps the rest of the batch', async () => {
    const rows = await datasetRowsOf([insertOf(item), insertOf(record)], { ...ports, objects: objectsOf(new Map()) });

    expect(rows).toHaveLength(1);
    expect(rows[0]?.conversation_id).toBe(ID);
  });

  it('fails the batch (for the pipe to retry) when the bucket cannot be read', async () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });

    await expect(datasetRowsOf([insertOf(item)], { ...ports, objects: objectsOf(new Map(), denied) })).rejects.toThrow('Access Denied');
  });
});
