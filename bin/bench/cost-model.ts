/**
 * What a million conversations cost the stack in us-east-1 at list prices, from the measured figures (durations,
 * sizes) and the stack's settings (memory, batch size, indexes, poll schedule). Pure arithmetic: no I/O, so the unit
 * tests check it by hand.
 */

/** Price of one unit of a metered dimension, in US dollars, and where it was read. */
export interface Price {
  readonly usd: number;
  /** What one unit is, e.g. `request`, `GB-second`, `GB-month`. */
  readonly unit: string;
  /** Where the figure was read, and when. */
  readonly source: string;
}

export interface Prices {
  readonly httpApiRequest: Price;
  readonly lambdaRequest: Price;
  readonly lambdaArmGbSecond: Price;
  readonly sqsRequest: Price;
  readonly s3Put: Price;
  readonly s3StandardGbMonth: Price;
  readonly dynamoDbWriteRequestUnit: Price;
  readonly dynamoDbReadRequestUnit: Price;
  readonly dynamoDbGbMonth: Price;
  readonly secretsManagerApiCall: Price;
  readonly secretsManagerSecretMonth: Price;
  readonly cloudWatchLogsIngestedGb: Price;
}

/** When US_EAST_1_PRICES were read. */
export const PRICES_READ_ON = '2026-11-23';

/**
 * us-east-1 list prices (first tier, no free tier), read on PRICES_READ_ON through copies of AWS's pricing pages and
 * articles quoting them (the official pages themselves could not be fetched from here). Where no dated source was
 * found the source says so.
 */
export const US_EAST_1_PRICES: Prices = {
  httpApiRequest: {
    usd: 1.0 / 1e6,
    unit: 'request (512 KB metering unit)',
    source: 'docs.aws.amazon.com whitepaper "Best Practices for Designing Amazon API Gateway Private APIs and Private Integration", Cost optimization (undated): HTTP API, first 300 million a month, metered in 512 KB increments',
  },
  lambdaRequest: { usd: 0.2 / 1e6, unit: 'request', source: 'git.mcrn.ar mariano/lambda_local_runner docs/lambdas-md/lambda-13-cost.md (undated): x86 and arm64 alike' },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'GB-second (arm64)',
    source: 'cloudchipr.com/blog/aws-lambda-pricing (2024): arm64, first 7.5 billion GB-s a month; the same in the lambda_local_runner notes above',
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    unit: 'request (64 KB chunk)',
    source: 'cloudburn.io/blog/amazon-sqs-pricing (March 2026) and factualminds.com SQS pricing (June 2026): standard queue, each 64 KB chunk of a payload billed as one request',
  },
  s3Put: { usd: 0.005 / 1000, unit: 'PUT request', source: 'c3x.dev/blog/s3-request-fees-explained (undated): S3 Standard PUT, COPY, POST, LIST' },
  s3StandardGbMonth: { usd: 0.023, unit: 'GB-month (S3 Standard)', source: 'cloudburn.io/blog/amazon-s3-pricing (March 2026): S3 Standard, first 50 TB' },
  dynamoDbWriteRequestUnit: {
    usd: 0.625 / 1e6,
    unit: 'write request unit (1 KB)',
    source: 'airbyte.com/data-engineering-resources/dynamodb-pricing (July 2025): on-demand, after the November 2024 price cut',
  },
  dynamoDbReadRequestUnit: { usd: 0.125 / 1e6, unit: 'read request unit (4 KB)', source: 'the same airbyte.com page (July 2025): on-demand' },
  dynamoDbGbMonth: { usd: 0.25, unit: 'GB-month (DynamoDB)', source: 'aws.amazon.com/dynamodb/pricing (copy, undated): "from $0.25 per GB-month" beyond the free 25 GB, Standard table class' },
  secretsManagerApiCall: { usd: 0.05 / 10_000, unit: 'API call', source: 'hivebook.wiki AWS Secrets Manager (undated): $0.05 per 10,000 API calls' },
  secretsManagerSecretMonth: { usd: 0.4, unit: 'secret-month', source: 'the same hivebook.wiki page (undated)' },
  cloudWatchLogsIngestedGb: {
    usd: 0.5,
    unit: 'GB ingested (CloudWatch Logs)',
    source: 'duckbillgroup.com on the May 2025 Lambda log tiers: the first tier stays at $0.50/GB, Standard class',
  },
};

/** The workload: measured figures plus the stack's settings. */
export interface CostInputs {
  /** Webhook deliveries per conversation (1: the transcription; audio or a failure event add one each). */
  readonly webhooksPerConversation: number;
  /** Mean webhook body as API Gateway receives it. */
  readonly webhookBodyBytes: number;
  /** Mean SQS message the receiver sends (the body, or a claim check for large bodies). */
  readonly queueMessageBytes: number;
  /** Mean archived object (gzip raw body) under `events/`. */
  readonly archiveObjectBytes: number;
  /** Mean receiver invocation (local x86 stands in for Lambda arm64). */
  readonly receiverMsPerInvocation: number;
  readonly receiverMemoryMb: number;
  /** Mean consumer time per record (batch time / records). */
  readonly consumerMsPerRecord: number;
  /** Records per consumer invocation. */
  readonly consumerBatchSize: number;
  readonly consumerMemoryMb: number;
  /** Mean stored DynamoDB item. */
  readonly recordItemBytes: number;
  /** Global secondary indexes every record is in (by_agent, by_day): each first write also puts an entry in each. */
  readonly indexes: number;
  /** Mean index entry (table key, index keys, projected attributes): what each index write and index copy costs. */
  readonly indexEntryBytes: number;
  /** Poller time per conversation it lists. */
  readonly pollerMsPerListedConversation: number;
  readonly pollerMemoryMb: number;
  /** How many poll runs list the same conversation (1 + overlap ÷ interval). */
  readonly pollerListingsPerConversation: number;
  /** Poll runs a month (the schedule). */
  readonly pollerRunsPerMonth: number;
  /** CloudWatch Logs bytes per receiver invocation, per consumer invocation and per consumer record. */
  readonly logBytesPerReceiverInvocation: number;
  readonly logBytesPerConsumerInvocation: number;
  readonly logBytesPerConsumerRecord: number;
  /** Secrets the stack holds (webhook secret, API key). */
  readonly secrets: number;
  /** Receiver execution environments kept warm through the month, each re-reading the secret once per cache TTL. */
  readonly warmReceiverEnvironments: number;
  readonly secretCacheTtlSecs: number;
}

export interface CostLineItem {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPriceUsd: number;
  readonly costUsd: number;
}

export interface CostModel {
  /** Costs that grow with conversations, for one million of them. */
  readonly perMillion: readonly CostLineItem[];
  readonly perMillionTotalUsd: number;
  /** Costs the stack has each month whatever the traffic. */
  readonly perMonth: readonly CostLineItem[];
  readonly perMonthTotalUsd: number;
}

export const CONVERSATIONS = 1_000_000;
/** HTTP APIs meter requests in 512 KB increments. */
export const HTTP_API_METERING_BYTES = 512 * 1024;
/** SQS bills each 64 KB chunk of a request's payload as one request. */
export const SQS_CHUNK_BYTES = 64 * 1024;
export const DYNAMODB_WRITE_UNIT_BYTES = 1024;
export const DYNAMODB_READ_UNIT_BYTES = 4096;
/** DynamoDB's per-item storage overhead (index overhead included). */
export const DYNAMODB_ITEM_OVERHEAD_BYTES = 100;
const GIB = 1024 ** 3;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

function line(service: string, item: string, quantity: number, price: Price): CostLineItem {
  return { service, item, quantity, unit: price.unit, unitPriceUsd: price.usd, costUsd: quantity * price.usd };
}

/** GB-seconds of `count` invocations of `ms` each (Lambda bills whole milliseconds) at `memoryMb`. */
function gbSeconds(count: number, ms: number, memoryMb: number): number {
  return count * (Math.ceil(ms) / 1000) * (memoryMb / 1024);
}

/** Line items per million conversations and per month; see CostInputs for what each input means. */
export function costPerMillionConversations(inputs: CostInputs, prices: Prices = US_EAST_1_PRICES): CostModel {
  const webhooks = CONVERSATIONS * inputs.webhooksPerConversation;
  const consumerInvocations = webhooks / inputs.consumerBatchSize;
  const listings = CONVERSATIONS * inputs.pollerListingsPerConversation;
  const itemWriteUnits = Math.ceil(inputs.recordItemBytes / DYNAMODB_WRITE_UNIT_BYTES);
  const indexWriteUnits = Math.ceil(inputs.indexEntryBytes / DYNAMODB_WRITE_UNIT_BYTES);
  const itemReadUnits = Math.ceil(inputs.recordItemBytes / DYNAMODB_READ_UNIT_BYTES);
  const messageChunks = Math.ceil(inputs.queueMessageBytes / SQS_CHUNK_BYTES);
  const receiveChunks = Math.ceil((inputs.consumerBatchSize * inputs.queueMessageBytes) / SQS_CHUNK_BYTES);
  const logBytes = webhooks * inputs.logBytesPerReceiverInvocation + consumerInvocations * inputs.logBytesPerConsumerInvocation + webhooks * inputs.logBytesPerConsumerRecord;
  // Each consumer event reads its record (a missing item still costs one unit) and writes it back to the table and
  // an entry to every index.
  const consumerReadUnits = CONVERSATIONS + (webhooks - CONVERSATIONS) * itemReadUnits;
  const pollerReadUnits = listings * 0.5 * itemReadUnits; // BatchGetItem is eventually consistent: half a unit per 4 KB

  const perMillion: CostLineItem[] = [
    line('API Gateway', 'HTTP API requests', webhooks * Math.ceil(inputs.webhookBodyBytes / HTTP_API_METERING_BYTES), prices.httpApiRequest),
    line('Lambda', 'receiver requests', webhooks, prices.lambdaRequest),
    line('Lambda', `receiver duration (${inputs.receiverMemoryMb} MB)`, gbSeconds(webhooks, inputs.receiverMsPerInvocation, inputs.receiverMemoryMb), prices.lambdaArmGbSecond),
    line('Lambda', `consumer requests (batches of ${inputs.consumerBatchSize})`, consumerInvocations, prices.lambdaRequest),
    line('Lambda', `consumer duration (${inputs.consumerMemoryMb} MB)`, gbSeconds(consumerInvocations, inputs.consumerMsPerRecord * inputs.consumerBatchSize, inputs.consumerMemoryMb), prices.lambdaArmGbSecond),
    line('Lambda', `poller duration (${inputs.pollerMemoryMb} MB, ${inputs.pollerListingsPerConversation} listings each)`, gbSeconds(1, listings * inputs.pollerMsPerListedConversation, inputs.pollerMemoryMb), prices.lambdaArmGbSecond),
    line('SQS', 'SendMessage (receiver)', webhooks * messageChunks, prices.sqsRequest),
    line('SQS', 'ReceiveMessage (event source, per batch)', consumerInvocations * receiveChunks, prices.sqsRequest),
    line('SQS', 'DeleteMessageBatch (event source, per batch)', consumerInvocations, prices.sqsRequest),
    line('S3', 'PUT archive objects', webhooks, prices.s3Put),
    line('S3', 'archive storage, first month', (webhooks * inputs.archiveObjectBytes) / GIB, prices.s3StandardGbMonth),
    line(
      'DynamoDB',
      `writes (table ${itemWriteUnits} WRU + ${inputs.indexes} indexes × ${indexWriteUnits} WRU)`,
      webhooks * (itemWriteUnits + inputs.indexes * indexWriteUnits),
      prices.dynamoDbWriteRequestUnit,
    ),
    line('DynamoDB', 'consistent reads before each write (1 unit per 4 KB)', consumerReadUnits, prices.dynamoDbReadRequestUnit),
    line('DynamoDB', 'poller presence checks (BatchGetItem, eventually consistent: ½ unit per 4 KB)', pollerReadUnits, prices.dynamoDbReadRequestUnit),
    line(
      'DynamoDB',
      'storage, first month (table + indexes)',
      (CONVERSATIONS * (inputs.recordItemBytes + DYNAMODB_ITEM_OVERHEAD_BYTES + inputs.indexes * (inputs.indexEntryBytes + DYNAMODB_ITEM_OVERHEAD_BYTES))) / GIB,
      prices.dynamoDbGbMonth,
    ),
    line('CloudWatch Logs', 'ingestion (receiver + consumer)', logBytes / GIB, prices.cloudWatchLogsIngestedGb),
  ];

  const secretReads = inputs.warmReceiverEnvironments * (SECONDS_PER_MONTH / inputs.secretCacheTtlSecs) + inputs.pollerRunsPerMonth;
  const perMonth: CostLineItem[] = [
    line('Lambda', 'poller requests (schedule)', inputs.pollerRunsPerMonth, prices.lambdaRequest),
    line('Secrets Manager', 'secrets', inputs.secrets, prices.secretsManagerSecretMonth),
    line('Secrets Manager', `GetSecretValue (cached ${inputs.secretCacheTtlSecs} s)`, secretReads, prices.secretsManagerApiCall),
  ];

  const total = (items: readonly CostLineItem[]) => items.reduce((sum, item) => sum + item.costUsd, 0);
  return { perMillion, perMillionTotalUsd: total(perMillion), perMonth, perMonthTotalUsd: total(perMonth) };
}

/** The stack's settings the model needs (lib/webhook-ingress.ts, lib/consumer.ts, lib/poller.ts, lib/conversation-table.ts, README). */
export const STACK_SETTINGS = {
  receiverMemoryMb: 512,
  consumerMemoryMb: 1024,
  pollerMemoryMb: 512,
  consumerBatchSize: 10,
  /** by_agent and by_day, both projecting the listing attributes (INCLUDE). */
  indexes: 2,
  /** rate(10 minutes), overlap 3,600 s: a conversation is listed by 1 + 3600/600 runs. */
  pollerRunsPerMonth: (30 * 24 * 60) / 10,
  pollerListingsPerConversation: 1 + 3600 / 600,
  secrets: 2,
  secretCacheTtlSecs: 300,
} as const;

/**
 * CloudWatch Logs bytes, estimated from Powertools lines printed by this project's logger (an INFO line with the
 * Lambda context ~620 B; the receiver's two EMF documents ~270 B and ~220 B; the consumer's INFO line without context
 * ~330 B and its one EMF document ~250 B), Lambda's START/END/REPORT lines (~280 B together) and CloudWatch's 26 B per
 * log event.
 */
export const LOG_BYTE_ESTIMATES = {
  perReceiverInvocation: 620 + 270 + 220 + 280 + 6 * 26,
  perConsumerInvocation: 250 + 280 + 4 * 26,
  perConsumerRecord: 330 + 26,
} as const;

/** Figures the model reads from the bench sections. */
export const COST_FIGURES = [
  'webhookBodyBytesMean',
  'queueMessageBytesMean',
  'archiveObjectBytesMean',
  'receiverMeanMs',
  'consumerMeanMsPerRecord',
  'consumerBatchSize',
  'recordItemBytesMean',
  'pollerRunMs',
  'pollerConversations',
  'indexEntryBytesMean',
] as const;

export type CostFigures = Readonly<Record<(typeof COST_FIGURES)[number], number>> & {
  /** The SQS message with its attributes, which SQS counts towards the 64 KB chunks; used when measured. */
  readonly queueMessageWithAttributesBytesMean?: number;
};

/** The names COST_FIGURES lists that `figures` lacks (the model needs all of them). */
export function missingCostFigures(figures: Readonly<Record<string, number>>): string[] {
  return COST_FIGURES.filter((name) => typeof figures[name] !== 'number' || !Number.isFinite(figures[name]));
}

/** CostInputs from the measured figures and the stack's settings: one transcription webhook per conversation. */
export function costInputsFromFigures(figures: CostFigures): CostInputs {
  return {
    webhooksPerConversation: 1,
    webhookBodyBytes: figures.webhookBodyBytesMean,
    queueMessageBytes: figures.queueMessageWithAttributesBytesMean ?? figures.queueMessageBytesMean,
    archiveObjectBytes: figures.archiveObjectBytesMean,
    receiverMsPerInvocation: figures.receiverMeanMs,
    receiverMemoryMb: STACK_SETTINGS.receiverMemoryMb,
    consumerMsPerRecord: figures.consumerMeanMsPerRecord,
    consumerBatchSize: figures.consumerBatchSize,
    consumerMemoryMb: STACK_SETTINGS.consumerMemoryMb,
    recordItemBytes: figures.recordItemBytesMean,
    indexes: STACK_SETTINGS.indexes,
    indexEntryBytes: figures.indexEntryBytesMean,
    pollerMsPerListedConversation: figures.pollerRunMs / figures.pollerConversations,
    pollerMemoryMb: STACK_SETTINGS.pollerMemoryMb,
    pollerListingsPerConversation: STACK_SETTINGS.pollerListingsPerConversation,
    pollerRunsPerMonth: STACK_SETTINGS.pollerRunsPerMonth,
    logBytesPerReceiverInvocation: LOG_BYTE_ESTIMATES.perReceiverInvocation,
    logBytesPerConsumerInvocation: LOG_BYTE_ESTIMATES.perConsumerInvocation,
    logBytesPerConsumerRecord: LOG_BYTE_ESTIMATES.perConsumerRecord,
    secrets: STACK_SETTINGS.secrets,
    warmReceiverEnvironments: 1,
    secretCacheTtlSecs: STACK_SETTINGS.secretCacheTtlSecs,
  };
}
