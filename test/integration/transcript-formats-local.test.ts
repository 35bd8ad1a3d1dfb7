/**
 * Every transcript format on the local pipeline with the fake ElevenLabs API: an OpenTelemetry-format webhook alone
 * (`post_call_transcription_otel`, only `{conversation_id, agent_id, otlp_traces}`) and a JSON transcription webhook
 * without its transcript (`exclude_transcript`) alone. Each counts as missing its JSON transcript, so the poller
 * fetches `GET /v1/convai/conversations/{id}` once the call has settled, and within one poll period the record holds
 * the full JSON conversation, deep-equal to the API's; the OpenTelemetry one keeps its `otlp_traces` exactly, which
 * `get --json` returns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import type { LocalPipeline } from '../../bin/local/pipeline.js';
import { postSignedWebhook } from '../../bin/local/post-webhook.js';
import { toConversationData } from '../../lambdas/core/record/conversation-record.js';
import type { ConversationReader, ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { startPipelineOnFakeApi, type PipelineOnFakeApi } from '../support/pipeline-on-fake-api.js';
import { waitUntil } from '../support/wait-until.js';

const POLL_INTERVAL_SECS = 3;
/** Seconds after the pipeline starts at which both calls have ended longer than the settle delay ago. */
const SETTLES_AFTER_SECS = 5;

let dataDir: string;
let fake: FakeElevenLabsApi;
let pipeline: LocalPipeline;
let reader: ConversationReader;
let running: PipelineOnFakeApi;
/** When each call has ended longer than the settle delay ago (ms). */
let settledAtMs: Record<string, number>;
let ids: { otel: string; bare: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'transcript-formats-'));
  const nowSecs = Math.floor(Date.now() / 1000);
  fake = await startFakeElevenLabsApi({ count: 2, seed: 33, newestStartBefore: nowSecs - 1000, spanSecs: 1, failedFraction: 0, audioFraction: 0 });
  const [otel, bare] = fake.conversationIds() as [string, string];
  ids = { otel, bare };
  // A settle delay the first call to end passes SETTLES_AFTER_SECS after the start: the first runs skip both.
  const endOf = (id: string) => fake.conversation(id).startTimeUnixSecs + fake.conversation(id).callDurationSecs;
  const settleDelaySecs = nowSecs - Math.min(endOf(otel), endOf(bare)) + SETTLES_AFTER_SECS;
  settledAtMs = Object.fromEntries([otel, bare].map((id) => [id, (endOf(id) + settleDelaySecs + 1) * 1000]));
  running = await startPipelineOnFakeApi({ dataDir, fake, pollIntervalSecs: POLL_INTERVAL_SECS, settleDelaySecs });
  ({ pipeline, reader } = running);
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await fake?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const withTranscript = (id: string) => async () => {
  const record = await reader.getConversation(id);
  return record?.transcript_location === undefined ? undefined : record;
};

describe('transcript formats on the local pipeline', () => {
  it('completes an OpenTelemetry-only and a transcript-less record with the full JSON transcript within one poll period after settling', async () => {
    // Prepare: each conversation's only webhook, as ElevenLabs sends it in that format.
    const secret = pipeline.webhookSecret.secret;
    const answers = await Promise.all([
      postSignedWebhook(pipeline.endpoints.webhookUrl, fake.webhookBody(ids.otel, 'post_call_transcription_otel'), { secret, timestampSecs: Math.floor(Date.now() / 1000) }),
      postSignedWebhook(pipeline.endpoints.webhookUrl, fake.webhookBody(ids.bare, 'post_call_transcription', { excludeTranscript: true }), { secret, timestampSecs: Math.floor(Date.now() / 1000) }),
    ]);
    const beforeSettling = await Promise.all([
      waitUntil('the OpenTelemetry record', Date.now() + 10_000, async () => (await reader.getConversation(ids.otel)) ?? undefined),
      waitUntil('the transcript-less record', Date.now() + 10_000, async () => (await reader.getConversation(ids.bare)) ?? undefined),
    ]);

    // Act: the poller runs every POLL_INTERVAL_SECS; each call settles SETTLES_AFTER_SECS in or later.
    const complete = async (what: string, id: string) => {
      const record = await waitUntil(what, (settledAtMs[id] ?? 0) + POLL_INTERVAL_SECS * 1000 + 10_000, withTranscript(id));
      return { record, afterSettleMs: Date.now() - (settledAtMs[id] ?? 0) };
    };
    const [otelDone, bareDone] = await Promise.all([complete('the JSON transcript of the OpenTelemetry conversation', ids.otel), complete('the transcript of the transcript-less conversation', ids.bare)]);
    const [otel, bare] = [otelDone.record, bareDone.record];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(beforeSettling[0]).toMatchObject({ otlp_traces: fake.otlpTraces(ids.otel), event_types: ['post_call_transcription_otel'] });
    expect(beforeSettling[0]).not.toHaveProperty('transcript_location');
    expect(beforeSettling[1]).toMatchObject({ status: 'done', event_types: ['post_call_transcription'] });
    expect(beforeSettling[1]).not.toHaveProperty('transcript_location');
    for (const [id, record] of [[ids.otel, otel], [ids.bare, bare]] as Array<[string, ConversationRecord]>) {
      expect(toConversationData(record)).toEqual(JSON.parse(Buffer.from(fake.conversationBody(id)).toString('utf8')));
      expect(record.sources).toEqual(['webhook', 'poller']);
    }
    expect(otel.otlp_traces).toEqual(fake.otlpTraces(ids.otel));
    const seconds = (ms: number) => Math.round(ms / 100) / 10;
    console.info(`[transcript formats] complete ${seconds(otelDone.afterSettleMs)} s (OpenTelemetry) and ${seconds(bareDone.afterSettleMs)} s (no transcript) after each call settled (poll interval ${POLL_INTERVAL_SECS} s)`);
    // One poll period, plus the poll loop's wait for the queue (1 s long poll) and the consumer's write.
    for (const { afterSettleMs } of [otelDone, bareDone]) expect(afterSettleMs).toBeLessThan(POLL_INTERVAL_SECS * 1000 + 2_000);
  }, 60_000);

  it('returns the OpenTelemetry traces exactly from get --json, beside the JSON transcript', async () => {
    // Prepare
    let stdout = '';
    const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { write: () => true }, env: { LOCAL_DATA_DIR: dataDir } };

    // Act
    const code = await runConversations(['get', ids.otel, '--local', '--json'], io);

    // Assess
    const record = JSON.parse(stdout) as ConversationRecord;
    expect(code).toBe(0);
    expect(record.otlp_traces).toEqual(fake.otlpTraces(ids.otel));
    expect(Array.isArray(record.transcript)).toBe(true);
  });
});
