/**
 * Bulk presence reads: chunking, de-duplication, projections, and DynamoDB's UnprocessedKeys (throttling) — the part
 * dynalite never produces, so a scripted client stands in here; the wire is covered in test/integration/poller.test.ts.
 */
import type { BatchGetCommand, BatchGetCommandOutput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { findMissingConversationIds, readStoredConversations } from '../../lambdas/core/backfill/conversation-presence.js';
import { StorageError } from '../../lambdas/core/errors.js';

type Key = { conversation_id: string };

/** A client whose table holds `storedIds`; each call leaves the first `unprocessedPerCall[n]` keys unprocessed. */
function scriptedClient(storedIds: string[], unprocessedPerCall: number[] = []) {
  const requests: Array<{ keys: string[]; projection: string | undefined }> = [];
  const client = {
    send: async (command: BatchGetCommand): Promise<Partial<BatchGetCommandOutput>> => {
      const [[table, request]] = Object.entries(command.input.RequestItems ?? {}) as [[string, { Keys: Key[]; ProjectionExpression?: string }]];
      const keys = request.Keys.map((key) => key.conversation_id);
      requests.push({ keys, projection: request.ProjectionExpression });
      const unprocessedCount = unprocessedPerCall[requests.length - 1] ?? 0;
      const processed = keys.slice(unprocessedCount);
      const unprocessed = keys.slice(0, unprocessedCount);
      return {
        Responses: { [table]: processed.filter((id) => storedIds.includes(id)).map((id) => ({ conversation_id: id, transcription_body_sha256: `sha-${id}`, transcript_location: 'inline' })) },
        UnprocessedKeys: unprocessed.length > 0 ? { [table]: { Keys: unprocessed.map((id) => ({ conversation_id: id })) } } : {},
      };
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, requests };
}

describe('findMissingConversationIds', () => {
  it('asks 100 distinct keys per call, projecting only the key', async () => {
    // Prepare
    const ids = Array.from({ length: 230 }, (_, index) => `c${index}`);
    const { client, requests } = scriptedClient(ids.filter((_, index) => index % 2 === 0));

    // Act
    const missing = await findMissingConversationIds(client, 'conversations', [...ids, 'c1', 'c2']);

    // Assess
    expect(requests.map((request) => request.keys.length)).toEqual([100, 100, 30]);
    expect(requests.every((request) => request.projection === '#id, #transcription, #transcript')).toBe(true);
    expect(missing).toEqual(ids.filter((_, index) => index % 2 === 1));
  });

  it('retries unprocessed keys with backoff until DynamoDB has processed them all', async () => {
    // Prepare
    const ids = ['a', 'b', 'c', 'd'];
    const { client, requests } = scriptedClient(['a', 'c'], [3, 1]);
    const sleeps: number[] = [];

    // Act
    const missing = await findMissingConversationIds(client, 'conversations', ids, {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });

    // Assess
    expect(requests.map((request) => request.keys)).toEqual([['a', 'b', 'c', 'd'], ['a', 'b', 'c'], ['a']]);
    expect(sleeps).toEqual([25, 50]);
    expect(missing).toEqual(['b', 'd']);
  });

  it('gives up with a StorageError when keys stay unprocessed', async () => {
    // Prepare
    const { client, requests } = scriptedClient([], Array.from({ length: 10 }, () => 1));

    // Act / Assess
    await expect(findMissingConversationIds(client, 'conversations', ['a'], { maxAttempts: 3, sleep: async () => undefined })).rejects.toBeInstanceOf(StorageError);
    expect(requests).toHaveLength(3);
  });

  it('makes no call for an empty list', async () => {
    const { client, requests } = scriptedClient([]);
    expect(await findMissingConversationIds(client, 'conversations', [])).toEqual([]);
    expect(requests).toHaveLength(0);
  });
});

describe('readStoredConversations', () => {
  it('adds the audio attributes to the same single projection when asked', async () => {
    // Prepare
    const { client, requests } = scriptedClient(['a']);

    // Act
    await readStoredConversations(client, 'conversations', ['a', 'b'], { includeAudio: true });

    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]?.projection).toBe('#id, #transcription, #transcript, #has_audio, #audio.#s3_key, #unavailable.#status');
  });
});
