/**
 * The healing path end to end, as an operator would run it: the local pipeline loses a third of the webhooks (and
 * every recording), then `npm run backfill -- --local` (spawned) against a fake ElevenLabs API brings every final
 * conversation and recording into the store, each exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { findMissingConversationIds, readStoredConversations } from '../../lambdas/core/backfill/conversation-presence.js';
import { FINAL_CONVERSATION_STATUSES } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { elevenLabsSignature, nowSeconds } from '../fixtures/webhook-requests.js';
import { runBackfill } from '../support/run-backfill.js';

const ENVIRONMENT = { ...process.env };

let dataDir: string;
let pipeline: LocalPipeline;
let fake: FakeElevenLabsApi;
let documentClient: DynamoDBDocumentClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'heal-local-'));
  fake = await startFakeElevenLabsApi({ count: 90, seed: 31 });
  // No API key for the pipeline itself: its poller stays off, so only the backfill command can heal.
  pipeline = await startLocalPipeline({ dataDir, port: 0, env: {}, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1 });
  documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: pipeline.endpoints.dynamodbEndpoint, region: emulatorRegion, credentials: emulatorCredentials }),
  );
});

afterAll(async () => {
  documentClient?.destroy();
  await pipeline?.stop();
  await fake?.stop();
  process.env = { ...ENVIRONMENT };
  await rm(dataDir, { recursive: true, force: true });
});

describe('healing a local pipeline that lost a third of its webhooks', () => {
  it('stores every final conversation exactly once after `npm run backfill -- --local`', async () => {
    // Prepare: deliver two thirds of the conversations as signed webhooks, drop the rest.
    const conversations = fake.conversations();
    const finalIds = conversations.filter((c) => FINAL_CONVERSATION_STATUSES.includes(c.status)).map((c) => c.conversationId);
    const delivered = conversations.filter((_, index) => index % 3 !== 0).map((c) => c.conversationId);
    for (const id of delivered) {
      const body = Buffer.from(`{"type":"post_call_transcription","event_timestamp":${nowSeconds()},"data":${Buffer.from(fake.conversationBody(id)).toString('utf8')}}`);
      const response = await fetch(pipeline.endpoints.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'elevenlabs-signature': elevenLabsSignature(body, pipeline.webhookSecret.secret, nowSeconds()) },
        body,
      });
      expect(response.status).toBe(200);
    }
    const waitUntilStored = async (ids: string[]) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const missing = await findMissingConversationIds(documentClient, pipeline.endpoints.tableName, ids);
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`${missing.length} conversations never stored`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      }
    };
    await waitUntilStored(delivered.filter((id) => finalIds.includes(id)));
    const lostBeforeBackfill = await findMissingConversationIds(documentClient, pipeline.endpoints.tableName, finalIds);
    const since = Math.min(...conversations.map((c) => c.startTimeUnixSecs));

    // Act
    const result = await runBackfill(['--local', '--since', String(since), '--json'], {
      LOCAL_DATA_DIR: dataDir,
      ELEVENLABS_API_KEY: FAKE_API_KEY,
      ELEVENLABS_API_BASE_URL: fake.url,
    });
    await waitUntilStored(finalIds);
    const recorded = finalIds.filter((id) => fake.conversation(id).hasAudio);
    const deadline = Date.now() + 30_000;
    while (![...(await readStoredConversations(documentClient, pipeline.endpoints.tableName, recorded, { includeAudio: true })).values()].every((state) => state.hasAudio)) {
      if (Date.now() > deadline) throw new Error('recordings never stored');
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }

    // Assess
    expect(lostBeforeBackfill.length).toBeGreaterThanOrEqual(20);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ backfilled: lostBeforeBackfill.length });
    const records: Array<Record<string, unknown>> = [];
    for (let offset = 0; offset < finalIds.length; offset += 100) {
      const page = await documentClient.send(
        new BatchGetCommand({ RequestItems: { [pipeline.endpoints.tableName]: { Keys: finalIds.slice(offset, offset + 100).map((id) => ({ conversation_id: id })) } } }),
      );
      records.push(...(page.Responses?.[pipeline.endpoints.tableName] ?? []));
    }
    expect(records).toHaveLength(finalIds.length);
    for (const record of records) {
      // Exactly once: one transcription per conversation, from the webhook or from the backfill, never both; and
      // the recordings no webhook brought, from the backfill.
      const id = String(record.conversation_id);
      const events = record.events as Array<{ event_type: string; source: string }>;
      const transcriptions = events.filter((event) => event.event_type === 'post_call_transcription');
      expect(transcriptions.map((event) => event.source), id).toEqual([lostBeforeBackfill.includes(id) ? 'poller' : 'webhook']);
      const recordings = events.filter((event) => event.event_type === 'post_call_audio');
      expect(recordings.map((event) => event.source), id).toEqual(fake.conversation(id).hasAudio ? ['poller'] : []);
    }
  });
});
