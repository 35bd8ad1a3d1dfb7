/**
 * `npm run backfill` as a user runs it: the script spawned with tsx against the fake ElevenLabs API, dynalite and
 * fauxqs — through `--local` (a local-endpoints.json naming this test's emulators, pid = this process) and through the
 * AWS settings (flags + AWS_ENDPOINT_URL_*).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRecords } from '../../bin/bench/table-seeding.js';
import { writeLocalEndpoints } from '../../bin/local/endpoints.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { emulatorRegion, sdkEnvironmentFor, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';
import { documentClientFor, drainQueue } from '../support/poller-harness.js';
import { runBackfill } from '../support/run-backfill.js';

const BUCKET = 'backfill-conversations';

let dynamo: DynamoDbEmulator;
let sqsS3: SqsS3Emulator;
let documentClient: DynamoDBDocumentClient;
let fake: FakeElevenLabsApi;
let dataDir: string;
let tableName: string;
let queueUrl: string;
let missing: Set<string>;

beforeAll(async () => {
  [dynamo, sqsS3, fake] = await Promise.all([startDynamoDbEmulator(), startSqsS3Emulator(), startFakeElevenLabsApi({ count: 500, seed: 23 })]);
  documentClient = documentClientFor(dynamo.client);
  sqsS3.server.createBucket(BUCKET);
  tableName = await createConversationsTable(dynamo.client, 'conversations');
  queueUrl = (await sqsS3.sqs.send(new CreateQueueCommand({ QueueName: 'ingest' }))).QueueUrl ?? '';
  const ids = fake.conversationIds();
  missing = new Set(ids.filter((_, index) => index % 10 === 3));
  await seedRecords(
    documentClient,
    tableName,
    ids.filter((id) => !missing.has(id)).map((id) => ({ conversation_id: id, transcription_body_sha256: `sha-${id}`, start_time_unix_secs: fake.conversation(id).startTimeUnixSecs })),
  );
  dataDir = await mkdtemp(join(tmpdir(), 'backfill-cli-'));
  await writeLocalEndpoints(dataDir, {
    webhookUrl: 'http://127.0.0.1:1/webhooks/elevenlabs',
    dynamodbEndpoint: dynamo.endpoint,
    sqsS3Endpoint: sqsS3.endpoint,
    region: emulatorRegion,
    queueUrl,
    deadLetterQueueUrl: queueUrl,
    bucketName: BUCKET,
    tableName,
    stateTableName: 'poller-state',
    pid: process.pid,
  });
});

afterAll(async () => {
  await Promise.all([fake?.stop(), dynamo?.stop(), sqsS3?.stop()]);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const localEnv = () => ({ LOCAL_DATA_DIR: dataDir, ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: fake.url });
const SINCE = '2020-01-01';

describe('npm run backfill -- --local', () => {
  it('--dry-run prints the table and publishes nothing', async () => {
    // Act
    const result = await runBackfill(['--since', SINCE, '--local', '--dry-run'], localEnv());

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Back-fill 2020-01-01T00:00:00\.000Z → .* on the local pipeline — dry run, nothing published\n/);
    expect(result.stdout).toMatch(/ {2}listed +500\n/);
    expect(result.stdout).toMatch(/ {2}would back-fill +50\n/);
    expect(await drainQueue(sqsS3.sqs, queueUrl)).toHaveLength(0);
  });

  it('--json back-fills exactly the missing conversations, their recordings too, and prints one JSON summary', async () => {
    // Prepare
    fake.resetCounters();

    // Act
    const result = await runBackfill(['--since', SINCE, '--local', '--json'], localEnv());
    const messages = await drainQueue(sqsS3.sqs, queueUrl);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const recorded = [...missing].filter((id) => fake.conversation(id).hasAudio);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: 'local', dry_run: false, complete: true, listed: 500, already_stored: 450, missing: 50, backfilled: 50, errors: 0, audio: { missing: recorded.length, backfilled: recorded.length } });
    const ofType = (type: string) => messages.filter((message) => message.attributes.eventType === type).map((message) => message.attributes.conversationId);
    expect(new Set(ofType('post_call_transcription'))).toEqual(missing);
    expect(ofType('post_call_transcription')).toHaveLength(50);
    expect(ofType('post_call_audio').sort()).toEqual(recorded.sort());
    expect(recorded.length).toBeGreaterThan(0);
    expect(fake.calls).toMatchObject({ list: 5, get: 50, audio: recorded.length });
  });

  it('narrows to --agent and [--since, --until)', async () => {
    // Prepare
    const agent = fake.agents()[1] as string;
    const starts = fake.conversations().map((conversation) => conversation.startTimeUnixSecs).sort((a, b) => a - b);
    const since = starts[100] as number;
    const until = starts[400] as number;
    const expected = [...missing].filter((id) => {
      const conversation = fake.conversation(id);
      return conversation.agentId === agent && conversation.startTimeUnixSecs >= since && conversation.startTimeUnixSecs < until;
    });

    // Act
    const result = await runBackfill(['--since', String(since), '--until', String(until), '--agent', agent, '--local', '--json'], localEnv());
    const messages = await drainQueue(sqsS3.sqs, queueUrl);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ agent_id: agent, backfilled: expected.length });
    expect(new Set(messages.map((message) => message.attributes.conversationId))).toEqual(new Set(expected));
    expect(expected.length).toBeGreaterThan(0);
  });

  it('exits 2 and names the conversation when one cannot be back-filled, after publishing the rest', async () => {
    // Prepare
    const [broken] = [...missing].sort();
    fake.injectFault({ route: 'get', count: 1, status: 404, conversationId: broken });

    // Act
    const result = await runBackfill(['--since', SINCE, '--local', '--json', '--skip-recordings'], localEnv());
    const messages = await drainQueue(sqsS3.sqs, queueUrl);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`warning: conversation not back-filled: ${broken} (status 404, conversation_not_found)`);
    expect(result.stderr).toContain('error: 1 conversation(s) could not be back-filled');
    expect(JSON.parse(result.stdout)).toMatchObject({ backfilled: 49, errors: 1, audio: { missing: 0 } });
    expect(messages).toHaveLength(49);
  });

  it('fails with the clear 401 message on a bad key, prints no summary and publishes nothing', async () => {
    // Act
    const result = await runBackfill(['--since', SINCE, '--local'], { ...localEnv(), ELEVENLABS_API_KEY: 'sk_wrong_key_for_this_test' });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: ElevenLabs rejected the API key \(401, invalid_api_key\) — check the secret/);
    expect(result.stderr).not.toContain('sk_wrong_key_for_this_test');
    expect(await drainQueue(sqsS3.sqs, queueUrl)).toHaveLength(0);
  });

  it('explains a missing local pipeline and a missing --since', async () => {
    // Act
    const [noPipeline, noSince] = await Promise.all([
      runBackfill(['--since', SINCE, '--local'], { ...localEnv(), LOCAL_DATA_DIR: join(dataDir, 'nowhere') }),
      runBackfill(['--local'], localEnv()),
    ]);

    // Assess
    expect(noPipeline.code).toBe(1);
    expect(noPipeline.stderr).toMatch(/^error: No local pipeline found in .*nowhere\. Start one with `npm start`/);
    expect(noSince.code).toBe(1);
    expect(noSince.stderr).toBe('error: --since is required (see elevenlabs-conversations backfill --help)\n');
  });
});

describe('npm run backfill against AWS settings', () => {
  it('reconciles with --table/--queue-url/--bucket and the SDK’s endpoint variables', async () => {
    // Act
    const result = await runBackfill(['--since', SINCE, '--table', tableName, '--queue-url', queueUrl, '--bucket', BUCKET, '--json'], {
      ...sdkEnvironmentFor({ dynamodb: dynamo.endpoint, sqs: sqsS3.endpoint, s3: sqsS3.endpoint }),
      ELEVENLABS_API_KEY: FAKE_API_KEY,
      ELEVENLABS_API_BASE_URL: fake.url,
    });
    const messages = await drainQueue(sqsS3.sqs, queueUrl);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: 'aws', backfilled: 50 });
    expect(new Set(messages.map((message) => message.attributes.conversationId))).toEqual(missing);
  });

  it('checks every AWS resource before it calls ElevenLabs, naming the one that is missing', async () => {
    // Prepare
    fake.resetCounters();
    // On the endpoint's own origin, so the SDK has nothing to warn about (fauxqs's own queue URLs are not WHATWG URLs).
    const goneQueueUrl = `${sqsS3.endpoint}/000000000000/ingest-gone`;
    const aws = { ...sdkEnvironmentFor({ dynamodb: dynamo.endpoint, sqs: sqsS3.endpoint, s3: sqsS3.endpoint }), ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: fake.url };

    // Act
    const [noTable, noQueue, noBucket] = await Promise.all([
      runBackfill(['--since', SINCE, '--table', 'no-such-table', '--queue-url', queueUrl, '--bucket', BUCKET], aws),
      runBackfill(['--since', SINCE, '--table', tableName, '--queue-url', goneQueueUrl, '--bucket', BUCKET], aws),
      runBackfill(['--since', SINCE, '--table', tableName, '--queue-url', queueUrl, '--bucket', 'no-such-bucket'], aws),
    ]);

    // Assess
    expect(noTable).toMatchObject({ code: 1, stdout: '', stderr: `error: table no-such-table not found in region ${emulatorRegion} (check --table and --region)\n` });
    expect(noQueue).toMatchObject({ code: 1, stdout: '', stderr: `error: queue ${goneQueueUrl} not found in region ${emulatorRegion} (check --queue-url and --region)\n` });
    // Before it, the SQS client warns that fauxqs's queue URL (host sqs.<region>.127.0.0.1) is no WHATWG URL; AWS's are.
    expect(noBucket).toMatchObject({ code: 1, stdout: '' });
    expect(noBucket.stderr.trimEnd().split('\n').at(-1)).toBe(`error: bucket no-such-bucket not found in region ${emulatorRegion} (check --bucket and --region)`);
    expect(fake.calls).toMatchObject({ list: 0, get: 0, audio: 0 });
  });

  it('looks the stack up when no flag names the resources, and says in one line that it has no credentials', async () => {
    // Prepare: no credentials anywhere, and no instance metadata service to wait for
    fake.resetCounters();

    // Act
    const result = await runBackfill(['--since', SINCE], { AWS_REGION: emulatorRegion, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ELEVENLABS_API_BASE_URL: fake.url });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: reading the outputs of stack ElevenLabsConversations: no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile, or use --local\n',
    );
    expect(fake.calls).toMatchObject({ list: 0, get: 0 });
  });
});
