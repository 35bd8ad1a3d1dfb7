/**
 * `npm start -- --fake-elevenlabs`: an ElevenLabs account for the local pipeline, so the healing path can be watched
 * with no API key. The fake ElevenLabs API holds a handful of sample conversations (the sample transcription's
 * content, bin/local/samples) across three agents, all final and ended minutes ago, some with a recording. Every
 * other conversation's webhooks are delivered to the pipeline, signed and over HTTP as ElevenLabs sends them; the
 * others' "never arrived", so the poller's first run finds them missing and back-fills them from the fake.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readStoredConversations } from '../../lambdas/core/backfill/conversation-presence.js';
import { emulatorCredentials } from './emulators.js';
import { FakeElevenLabsApi, type FakeConversation, type FakeWebhookType } from './fake-elevenlabs-api.js';
import type { LocalPipeline } from './pipeline.js';
import { postSignedWebhook } from './post-webhook.js';

/** How many sample conversations, across how many agents. */
export const SAMPLE_ACCOUNT_SIZE = { conversations: 6, agents: 3 } as const;
/**
 * The poller's settle delay against the fake. The sample calls ended 4 to 60 minutes ago: the stack's 10 minutes
 * would leave some of them to a later run, and the first run is the one to watch.
 */
export const SAMPLE_SETTLE_DELAY_SECS = 30;
/** The newest sample call started this long ago (it lasted at most 67 s), the oldest an hour ago. */
const NEWEST_START_AGO_SECS = 5 * 60;
const START_SPAN_SECS = 55 * 60;
/**
 * With the options below, the seed whose account shows every case: all three agents, four of six calls recorded,
 * and on each side (delivered, missed) conversations with and without a recording. Check again if an option changes.
 */
const SAMPLE_SEED = 29;
/** How long the delivered webhooks may take to be stored before the poller is let in regardless. */
const STORED_TIMEOUT_MS = 20_000;

/** What delivering the webhooks came to (counts only; the pipeline logs each request). */
export interface DeliveryReport {
  /** Webhook requests sent (a transcription per delivered conversation, plus its audio when it has a recording). */
  readonly sent: number;
  /** Requests answered 200. */
  readonly accepted: number;
  /** Whether every delivered conversation was stored (with its recording) before the poller was let in. */
  readonly stored: boolean;
}

export interface SampleAccount {
  /** The fake API's base URL (127.0.0.1). */
  readonly url: string;
  /** Agents that have sample conversations. */
  readonly agentCount: number;
  /** Conversations whose webhooks are delivered, oldest first. */
  readonly delivered: readonly FakeConversation[];
  /** Conversations whose webhooks never arrive, oldest first: the poller back-fills them. */
  readonly missed: readonly FakeConversation[];
  /**
   * The pipeline's environment for the fake: its API key and host and a short settle delay; recordings are
   * back-filled by default, so the poller heals all the webhooks would have brought.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Posts the delivered conversations' webhooks to the pipeline, waits until they are stored, then lets the fake
   * answer: until then it holds every request, so the poller's first run (started with the pipeline) lists the
   * account only once the delivered conversations are in the table, and back-fills exactly the missed ones.
   */
  deliverWebhooks(pipeline: LocalPipeline): Promise<DeliveryReport>;
  /**
   * Resolves once the missed conversations are stored (transcripts and recordings) or `timeoutMs` has passed: true
   * when the poller healed every gap. Reads only the table, so the poller's work is what it watches.
   */
  waitForBackfill(pipeline: LocalPipeline, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Starts the fake with the sample conversations, under new ids and times on every start (the agents stay), so a
 * table kept from an earlier start gets new gaps to heal.
 */
export async function startSampleAccount(nowSecs: number = Math.floor(Date.now() / 1000)): Promise<SampleAccount> {
  const fake = new FakeElevenLabsApi({
    count: SAMPLE_ACCOUNT_SIZE.conversations,
    agentCount: SAMPLE_ACCOUNT_SIZE.agents,
    seed: SAMPLE_SEED,
    conversationIdPrefix: `conv_sample_${nowSecs.toString(36)}_`,
    newestStartBefore: nowSecs - NEWEST_START_AGO_SECS,
    spanSecs: START_SPAN_SECS,
    failedFraction: 0,
    audioFraction: 0.5,
    content: 'samples',
  });
  const release = fake.holdRequests();
  const url = await fake.start();
  const conversations = fake.conversations().sort((a, b) => a.startTimeUnixSecs - b.startTimeUnixSecs);
  const delivered = conversations.filter((_, index) => index % 2 === 0);
  const missed = conversations.filter((_, index) => index % 2 === 1);

  return {
    url,
    agentCount: new Set(conversations.map((conversation) => conversation.agentId)).size,
    delivered,
    missed,
    environment: {
      ELEVENLABS_API_KEY: fake.apiKey,
      ELEVENLABS_API_BASE_URL: url,
      POLLER_SETTLE_DELAY_SECS: String(SAMPLE_SETTLE_DELAY_SECS),
    },
    async deliverWebhooks(pipeline) {
      try {
        // The fake workspace's post-call webhook is this pipeline's, set up as it should be: the poller's webhook
        // check and `doctor --local` see a healthy one.
        fake.workspace.connectPostCallWebhook(pipeline.endpoints.webhookUrl, { retry_enabled: true });
        const webhooks = delivered.flatMap((conversation) => {
          const types: FakeWebhookType[] = conversation.hasAudio ? ['post_call_transcription', 'post_call_audio'] : ['post_call_transcription'];
          return types.map((type) => fake.webhookBody(conversation.conversationId, type));
        });
        let accepted = 0;
        for (const body of webhooks) {
          const answer = await postSignedWebhook(pipeline.endpoints.webhookUrl, body, { secret: pipeline.webhookSecret.secret, timestampSecs: Math.floor(Date.now() / 1000) });
          if (answer.status === 200) accepted++;
        }
        const stored = await waitUntilStored(pipeline, delivered, STORED_TIMEOUT_MS);
        return { sent: webhooks.length, accepted, stored };
      } finally {
        release();
      }
    },
    waitForBackfill: (pipeline, timeoutMs) => waitUntilStored(pipeline, missed, timeoutMs),
    stop: () => fake.stop(),
  };
}

/** Whether every conversation's record holds its transcription, and its recording when it has one, within the timeout. */
async function waitUntilStored(pipeline: LocalPipeline, conversations: readonly FakeConversation[], timeoutMs: number): Promise<boolean> {
  const { endpoints } = pipeline;
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodbEndpoint, region: endpoints.region, credentials: emulatorCredentials });
  const documentClient = DynamoDBDocumentClient.from(dynamodb);
  const ids = conversations.map((conversation) => conversation.conversationId);
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      const stored = await readStoredConversations(documentClient, endpoints.tableName, ids, { includeAudio: true });
      const complete = conversations.every(({ conversationId, hasAudio }) => {
        const state = stored.get(conversationId);
        return state !== undefined && state.hasTranscription && (!hasAudio || state.hasAudio);
      });
      if (complete) return true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
  } finally {
    dynamodb.destroy();
  }
}
