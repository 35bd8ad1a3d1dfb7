/**
 * The conversations table's change stream, locally. dynalite has no DynamoDB Streams, so a middleware on the local
 * handlers' DynamoDB client turns each successful PutItem on the table into the record DynamoDB Streams would write
 * (view NEW_AND_OLD_IMAGES, as the stack configures it): INSERT or MODIFY, the key, the new image (the item as sent,
 * already in DynamoDB's typed form), the old image (asked for with `ReturnValues: ALL_OLD`, which the consumer does
 * not set itself), a sequence number, the time. The consumer is the table's only writer and only puts, so this sees
 * every change; a put refused by its condition changes nothing and is not streamed, as in AWS.
 */
import { randomBytes } from 'node:crypto';
import type { AttributeValue, PutItemCommandInput, PutItemCommandOutput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/lib-dynamodb';
import type { DeserializeHandler, DeserializeHandlerArguments, HandlerExecutionContext, SerializeHandler, SerializeHandlerArguments } from '@smithy/types';
import { CONVERSATIONS_TABLE } from '../../lambdas/core/record/conversation-table-schema.js';
import { estimateItemBytes } from '../../lambdas/core/record/conversation-record.js';
import type { TableStreamRecord } from '../../lambdas/core/changes/stream-record.js';

export interface TableStreamOptions {
  readonly tableName: string;
  readonly region: string;
  /** Told of every change, in the order the writes completed. */
  readonly onRecord: (record: TableStreamRecord) => void;
}

const isTablePut = (commandName: string, input: PutItemCommandInput, tableName: string) => commandName === 'PutItemCommand' && input.TableName === tableName && input.Item !== undefined;

/** Streams `tableName`'s changes made through `client`, a document client (every call through it must be one). */
export function captureTableStream(client: DynamoDBDocumentClient, options: TableStreamOptions): void {
  const streamArn = `arn:aws:dynamodb:${options.region}:000000000000:table/${options.tableName}/stream/${new Date().toISOString().slice(0, 23)}`;
  let sequence = 0;
  // After lib-dynamodb's marshalling, before serialization: the put asks for the old item.
  client.middlewareStack.addRelativeTo(
    (next: SerializeHandler<ServiceInputTypes, ServiceOutputTypes>, context: HandlerExecutionContext) => async (args: SerializeHandlerArguments<ServiceInputTypes>) => {
      const input = args.input as PutItemCommandInput;
      return next(isTablePut(context.commandName ?? '', input, options.tableName) ? { ...args, input: { ...input, ReturnValues: 'ALL_OLD' } } : args);
    },
    { relation: 'after', toMiddleware: 'DocumentMarshall', name: 'localTableStreamOldImage', override: true },
  );
  // Inside lib-dynamodb's unmarshalling: both images are in DynamoDB's typed form, as a stream carries them.
  client.middlewareStack.addRelativeTo(
    (next: DeserializeHandler<ServiceInputTypes, ServiceOutputTypes>, context: HandlerExecutionContext) => async (args: DeserializeHandlerArguments<ServiceInputTypes>) => {
      const input = args.input as PutItemCommandInput;
      const result = await next(args);
      if (!isTablePut(context.commandName ?? '', input, options.tableName) || input.Item === undefined) return result;
      const output = result.output as PutItemCommandOutput;
      sequence += 1;
      options.onRecord(streamRecordOf({ streamArn, sequence, newImage: input.Item, oldImage: output.Attributes }));
      // The writer asked for no old item.
      return { ...result, output: { ...output, Attributes: undefined } };
    },
    { relation: 'after', toMiddleware: 'DocumentUnmarshall', name: 'localTableStreamRecord', override: true },
  );
}

function streamRecordOf(change: {
  readonly streamArn: string;
  readonly sequence: number;
  readonly newImage: Record<string, AttributeValue>;
  readonly oldImage: Record<string, AttributeValue> | undefined;
}): TableStreamRecord {
  const keyName = CONVERSATIONS_TABLE.partitionKey;
  const key = change.newImage[keyName];
  return {
    eventID: randomBytes(16).toString('hex'),
    eventName: change.oldImage === undefined ? 'INSERT' : 'MODIFY',
    eventSourceARN: change.streamArn,
    dynamodb: {
      Keys: key === undefined ? {} : { [keyName]: key },
      NewImage: change.newImage,
      ...(change.oldImage === undefined ? {} : { OldImage: change.oldImage }),
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      SequenceNumber: String(change.sequence).padStart(21, '0'),
      SizeBytes: estimateItemBytes(change.newImage) + (change.oldImage === undefined ? 0 : estimateItemBytes(change.oldImage)),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}
