/**
 * Table plumbing for the poller benchmark (the poller tests use it too): "already stored" conversation records
 * written in bulk, and a document client that counts its BatchGetItem calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emulatorCredentials, emulatorRegion } from '../local/emulators.js';

/**
 * A document client of its own on the emulator at `endpoint` that counts the BatchGetItem calls it sends (the
 * presence read's unit of cost). Its own client: a document client shares its client's middleware stack.
 */
export function countingBatchGets(endpoint: string): { readonly documentClient: DynamoDBDocumentClient; readonly batchGetCalls: () => number } {
  let calls = 0;
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: emulatorRegion, credentials: emulatorCredentials }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') calls++;
      return next(args);
    },
    { step: 'initialize', name: 'countBatchGetItem' },
  );
  return { documentClient, batchGetCalls: () => calls };
}

/** A minimal stored record, as far as the poller looks: the key plus the index attributes. */
export interface MinimalRecord {
  readonly conversation_id: string;
  /** Present once the record holds the transcription; records without it count as missing. */
  readonly transcription_body_sha256?: string;
  /**
   * Where its transcript is; seeded as `inline` for a record with a transcription unless given (`null`: a
   * transcription without transcript, which counts as missing).
   */
  readonly transcript_location?: 'inline' | 's3' | null;
  readonly agent_id?: string;
  readonly start_time_unix_secs?: number;
  readonly status?: string;
  readonly has_audio?: boolean;
  readonly audio?: { readonly s3_key: string };
}

/** The record as the consumer writes one: a transcription holds its transcript (`transcript_location`) unless told not to. */
function transcriptLocated({ transcript_location: location, ...record }: MinimalRecord): Record<string, unknown> {
  if (record.transcription_body_sha256 === undefined || location === null) return record;
  return { ...record, transcript_location: location ?? 'inline' };
}

/** BatchWriteItem, 25 items a call, `concurrency` calls in flight, unprocessed items retried. */
export async function seedRecords(documentClient: DynamoDBDocumentClient, tableName: string, records: readonly MinimalRecord[], concurrency = 16): Promise<void> {
  const chunks: MinimalRecord[][] = [];
  for (let offset = 0; offset < records.length; offset += 25) chunks.push(records.slice(offset, offset + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as MinimalRecord[];
      let requests = chunk.map((record) => ({
        PutRequest: {
          Item: {
            ...transcriptLocated(record),
            ...(record.start_time_unix_secs === undefined ? {} : { start_day: new Date(record.start_time_unix_secs * 1000).toISOString().slice(0, 10) }),
          } as Record<string, unknown>,
        },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 10) throw new Error('seeding: items stayed unprocessed');
        const { UnprocessedItems } = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
