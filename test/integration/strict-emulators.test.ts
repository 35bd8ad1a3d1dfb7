/**
 * The strict emulator layer (bin/local/strict-emulators.ts) against AWS's own implementation: each item goes to
 * DynamoDB Local (AWS's jar, no layer), to dynalite through the layer, and to dynalite bare. The layer must answer as
 * DynamoDB Local does in every case, including those dynalite alone gets wrong. SQS has no AWS emulator: its cases are
 * judged against the SendMessage reference, and against fauxqs bare to show what the layer adds.
 */
import { CreateTableCommand, DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient, SendMessageCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationsTableDefinition } from '../../lambdas/core/record/conversation-table-schema.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';

const TABLE = 'conversations-strict';

type Outcome = 'accepted' | 'refused';

interface ItemCase {
  readonly name: string;
  readonly item: Record<string, AttributeValue>;
  /** What AWS does (DynamoDB Local must agree, and so must the layer). */
  readonly aws: Outcome;
  /** What dynalite does on its own. */
  readonly dynalite: Outcome;
}

const nested = (levels: number): AttributeValue => (levels === 1 ? { S: 'leaf' } : { L: [nested(levels - 1)] });
const record = (id: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  conversation_id: { S: id },
  start_time_unix_secs: { N: '1767268920' },
  start_day: { S: '2026-01-01' },
  ...extra,
});

const ITEM_CASES: readonly ItemCase[] = [
  { name: 'a record at every limit (keys of 2,048 bytes, 32 levels, 38 digits)', item: record('c'.repeat(2048), { agent_id: { S: 'a'.repeat(2048) }, deep: nested(32), n: { N: '1'.repeat(38) } }), aws: 'accepted', dynalite: 'accepted' },
  { name: 'control characters and a lone surrogate in keys and values', item: record('conv\u0001\uFFFF', { agent_id: { S: 'agent\u0000' }, note: { S: '\uD800' } }), aws: 'accepted', dynalite: 'accepted' },
  { name: 'an agent_id (by_agent partition key) of 2,049 bytes', item: record('conv_agent_long', { agent_id: { S: 'a'.repeat(2049) } }), aws: 'refused', dynalite: 'accepted' },
  { name: 'an agent_id of 1,025 two-byte characters (2,050 bytes)', item: record('conv_agent_utf8', { agent_id: { S: 'é'.repeat(1025) } }), aws: 'refused', dynalite: 'accepted' },
  { name: 'an empty agent_id', item: record('conv_agent_empty', { agent_id: { S: '' } }), aws: 'refused', dynalite: 'accepted' },
  { name: 'an empty start_day (by_day partition key)', item: { conversation_id: { S: 'conv_day_empty' }, start_day: { S: '' }, start_time_unix_secs: { N: '1' } }, aws: 'refused', dynalite: 'accepted' },
  { name: 'nesting of 33 levels', item: record('conv_deep', { deep: nested(33) }), aws: 'refused', dynalite: 'accepted' },
  { name: 'an empty attribute name inside a map', item: record('conv_empty_name', { data: { M: { '': { S: 'x' } } } }), aws: 'refused', dynalite: 'accepted' },
  { name: 'a conversation_id (table partition key) of 2,049 bytes', item: record('c'.repeat(2049)), aws: 'refused', dynalite: 'refused' },
  { name: 'an empty conversation_id', item: record(''), aws: 'refused', dynalite: 'refused' },
  { name: 'a number of 39 significant digits', item: record('conv_digits', { n: { N: '1'.repeat(39) } }), aws: 'refused', dynalite: 'refused' },
  { name: 'a number of 1E+126', item: record('conv_big', { n: { N: '1e126' } }), aws: 'refused', dynalite: 'refused' },
  { name: 'a number of 1E-131', item: record('conv_small', { n: { N: '1e-131' } }), aws: 'refused', dynalite: 'refused' },
  { name: 'an item over 400 KB', item: record('conv_large', { blob: { S: 'x'.repeat(400 * 1024) } }), aws: 'refused', dynalite: 'refused' },
];

async function outcomeOf(client: DynamoDBClient, item: Record<string, AttributeValue>): Promise<{ outcome: Outcome; error?: string }> {
  try {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    return { outcome: 'accepted' };
  } catch (error) {
    return { outcome: 'refused', error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

describe('strict emulator layer: DynamoDB, checked against AWS DynamoDB Local', () => {
  let local: DynamoDbLocal;
  let dynalite: DynamoDbEmulator;
  let bareDynalite: DynamoDBClient;

  beforeAll(async () => {
    [local, dynalite] = await Promise.all([startDynamoDbLocal(), startDynamoDbEmulator()]);
    bareDynalite = new DynamoDBClient({ endpoint: dynalite.endpoint, region: emulatorRegion, credentials: emulatorCredentials, maxAttempts: 1 });
    await Promise.all([local.client, dynalite.client].map((client) => client.send(new CreateTableCommand(conversationsTableDefinition(TABLE)))));
  }, 60_000);
  afterAll(async () => {
    bareDynalite?.destroy();
    await Promise.all([local?.stop(), dynalite?.stop()]);
  });

  it.each(ITEM_CASES)('$name: AWS $aws it, and so does the layer (dynalite alone: $dynalite)', async ({ item, aws, dynalite: bare }) => {
    // Act
    const [byAws, byLayer, byBare] = [await outcomeOf(local.client, item), await outcomeOf(dynalite.client, item), await outcomeOf(bareDynalite, item)];

    // Assess
    expect(byAws.outcome, `DynamoDB Local (${byAws.error ?? 'ok'})`).toBe(aws);
    expect(byLayer.outcome, `dynalite through the layer (${byLayer.error ?? 'ok'})`).toBe(aws);
    expect(byBare.outcome, `dynalite alone (${byBare.error ?? 'ok'})`).toBe(bare);
    if (byLayer.outcome === 'refused') expect(byLayer.error).toMatch(/^ValidationException: /);
  });

  it('covers cases where dynalite alone accepts what AWS refuses', () => {
    expect(ITEM_CASES.filter((itemCase) => itemCase.aws === 'refused' && itemCase.dynalite === 'accepted').length).toBeGreaterThanOrEqual(5);
  });
});

interface MessageCase {
  readonly name: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** What SQS does, from the SendMessage reference. */
  readonly aws: Outcome;
  /** What fauxqs does on its own. */
  readonly fauxqs: Outcome;
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

const MESSAGE_CASES: readonly MessageCase[] = [
  { name: 'a message of 1 MiB with its attributes', body: 'x'.repeat(1024 * 1024 - 'conversation_id'.length - 'String'.length - 10), attributes: { conversation_id: text('0123456789') }, aws: 'accepted', fauxqs: 'accepted' },
  { name: 'emoji and U+E000 in an attribute value', body: '{}', attributes: { conversation_id: text('conv 😀 \uE000') }, aws: 'accepted', fauxqs: 'accepted' },
  { name: 'a control character (U+0001) in an attribute value', body: '{}', attributes: { conversation_id: text('conv\u0001') }, aws: 'refused', fauxqs: 'accepted' },
  { name: 'U+FFFF in an attribute value', body: '{}', attributes: { event_type: text('type\uFFFF') }, aws: 'refused', fauxqs: 'accepted' },
  { name: 'a message over 1 MiB only with its attributes', body: 'x'.repeat(1024 * 1024 - 10), attributes: { conversation_id: text('c'.repeat(2048)) }, aws: 'refused', fauxqs: 'refused' },
  { name: 'an attribute name starting with "AWS."', body: '{}', attributes: { 'AWS.trace': text('x') }, aws: 'refused', fauxqs: 'accepted' },
];

describe('strict emulator layer: SQS, checked against the SendMessage reference', () => {
  let sqsS3: SqsS3Emulator;
  let bareSqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    sqsS3 = await startSqsS3Emulator();
    bareSqs = new SQSClient({ endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials, maxAttempts: 1 });
    queueUrl = (await sqsS3.sqs.send(new CreateQueueCommand({ QueueName: 'strict', Attributes: { MaximumMessageSize: String(1024 * 1024) } }))).QueueUrl ?? '';
  });
  afterAll(async () => {
    bareSqs?.destroy();
    await sqsS3?.stop();
  });

  async function sent(client: SQSClient, { body, attributes }: MessageCase): Promise<{ outcome: Outcome; error?: string }> {
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
      return { outcome: 'accepted' };
    } catch (error) {
      return { outcome: 'refused', error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  it.each(MESSAGE_CASES)('$name: SQS $aws it, and so does the layer (fauxqs alone: $fauxqs)', async (messageCase) => {
    // Act
    const [byLayer, byBare] = [await sent(sqsS3.sqs, messageCase), await sent(bareSqs, messageCase)];

    // Assess
    expect(byLayer.outcome, `fauxqs through the layer (${byLayer.error ?? 'ok'})`).toBe(messageCase.aws);
    expect(byBare.outcome, `fauxqs alone (${byBare.error ?? 'ok'})`).toBe(messageCase.fauxqs);
  });
});
