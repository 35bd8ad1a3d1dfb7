/**
 * replayArchive over an archive held in memory: which objects a range and a conversation select, the queued message
 * (the production encoding: same body hash, source, receipt time and archive key), the source of objects archived
 * before it was recorded, and what is counted rather than queued.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { replayArchive, sourceOf, type ReplayPorts } from '../../bin/cli/replay-archive.js';
import { sha256Hex } from '../../lambdas/core/hash.js';
import type { QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import { archiveKeyFor, decodeQueuedEvent } from '../../lambdas/core/ingest/queued-event.js';

const RECEIVED = new Date('2026-03-01T10:00:00.000Z');

interface Stored {
  readonly body: Uint8Array;
  readonly metadata: Record<string, string>;
}

function archive(objects: Map<string, Stored>, body: object | string, options: { conversationId?: string; receivedAt?: Date; source?: string; type?: string } = {}): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const key = archiveKeyFor({ receivedAt: options.receivedAt ?? RECEIVED, conversationId: options.conversationId, eventType: options.type ?? 'post_call_transcription', bodySha256: sha256Hex(Buffer.from(text)) });
  objects.set(key, { body: new Uint8Array(gzipSync(text)), metadata: options.source === undefined ? {} : { source: options.source } });
  return key;
}

function ports(objects: Map<string, Stored>, sent: QueuedMessage[]): ReplayPorts {
  return {
    bucketName: 'bucket',
    async *listKeys(prefix) {
      yield* [...objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    },
    async getObject(key) {
      const object = objects.get(key);
      if (object === undefined) throw new Error('NoSuchKey');
      return object;
    },
    async send(message) {
      sent.push(message);
    },
  };
}

const since = RECEIVED.getTime() / 1000 - 3600;
const until = RECEIVED.getTime() / 1000 + 3600;

describe('replayArchive', () => {
  it('queues each event of the range again as it was first queued: body, hash, source, receipt time, archive key', async () => {
    // Prepare
    const objects = new Map<string, Stored>();
    const body = { type: 'post_call_transcription', event_timestamp: 1772359200, data: { conversation_id: 'conv_a', agent_id: 'agent_1' } };
    const key = archive(objects, body, { conversationId: 'conv_a', source: 'poller' });
    const sent: QueuedMessage[] = [];

    // Act
    const summary = await replayArchive(ports(objects, sent), { since, until });

    // Assess
    expect(summary).toEqual({ listed: 1, queued: 1, notEvents: [], failed: [] });
    const queued = decodeQueuedEvent({ body: sent[0]?.MessageBody ?? '', messageAttributes: Object.fromEntries(Object.entries(sent[0]?.MessageAttributes ?? {}).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType ?? 'String' }])) });
    expect(queued.attributes).toEqual({
      eventType: 'post_call_transcription',
      conversationId: 'conv_a',
      agentId: 'agent_1',
      eventTimestamp: 1772359200,
      receivedAt: RECEIVED.toISOString(),
      source: 'poller',
      archiveKey: key,
      bodySha256: sha256Hex(Buffer.from(JSON.stringify(body))),
    });
    expect(queued.body).toEqual({ location: 'inline', rawBody: JSON.stringify(body) });
  });

  it('selects by receipt time and conversation, skips recordings, and queues nothing on a dry run', async () => {
    // Prepare
    const objects = new Map<string, Stored>();
    archive(objects, { type: 't', data: { conversation_id: 'conv_a' } }, { conversationId: 'conv_a' });
    archive(objects, { type: 't', data: { conversation_id: 'conv_b' } }, { conversationId: 'conv_b' });
    archive(objects, { type: 't', data: { conversation_id: 'conv_a' } }, { conversationId: 'conv_a', receivedAt: new Date(RECEIVED.getTime() + 2 * 3600_000) });
    objects.set('events/recordings/2026/03/01/conv_a/1772359200000-token.mp3', { body: new Uint8Array([1]), metadata: {} });
    const sent: QueuedMessage[] = [];

    // Act
    const oneConversation = await replayArchive(ports(objects, sent), { since, until, conversationId: 'conv_a' });
    const dryRun = await replayArchive(ports(objects, sent), { since, until, dryRun: true });

    // Assess
    expect(oneConversation).toMatchObject({ listed: 1, queued: 1 });
    expect(dryRun).toMatchObject({ listed: 2, queued: 2 });
    expect(sent).toHaveLength(1);
  });

  it('counts what is not a webhook event and what cannot be read, and queues the rest', async () => {
    // Prepare
    const objects = new Map<string, Stored>();
    const notAnEvent = archive(objects, 'not json', { conversationId: 'conv_x' });
    archive(objects, { type: 't', data: { conversation_id: 'conv_y' } }, { conversationId: 'conv_y' });
    const broken = archive(objects, { type: 't', data: {} }, { conversationId: 'conv_z' });
    objects.set(broken, { body: new Uint8Array([0x1f, 0x8b, 0, 0]), metadata: {} });
    const sent: QueuedMessage[] = [];

    // Act
    const summary = await replayArchive(ports(objects, sent), { since, until, concurrency: 2 });

    // Assess
    expect(summary).toEqual({ listed: 3, queued: 1, notEvents: [notAnEvent], failed: [broken] });
  });
});

describe('sourceOf', () => {
  it('reads the recorded source; before it was recorded, only the poller-only shapes are the poller', () => {
    const event = (type: string, data: Record<string, unknown> = {}) => ({ type, data });

    expect(sourceOf({ source: 'poller' }, event('post_call_transcription'))).toBe('poller');
    expect(sourceOf({}, event('post_call_transcription'))).toBe('webhook');
    expect(sourceOf({}, event('audio_unavailable'))).toBe('poller');
    expect(sourceOf({}, event('post_call_audio', { audio_object: { key: 'events/recordings/x.mp3' } }))).toBe('poller');
    expect(sourceOf({}, event('post_call_audio', { full_audio: 'SUQz' }))).toBe('webhook');
  });
});
