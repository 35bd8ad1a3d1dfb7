/**
 * One record of the conversations table's DynamoDB stream, as EventBridge Pipes hands it to an enrichment (the same
 * shape Lambda receives), and the conversation records its images hold.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ConversationRecord } from '../record/conversation-record.js';
import { fromStoredValue } from '../record/stored-value-codec.js';

/** A DynamoDB image: attribute name → typed value (`{"S": "…"}`, `{"N": "…"}`, …). */
export type StreamImage = Record<string, AttributeValue>;

export interface TableStreamRecord {
  readonly eventID?: string;
  readonly eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` */
  readonly eventSourceARN?: string;
  readonly dynamodb?: {
    readonly Keys?: StreamImage;
    readonly NewImage?: StreamImage;
    readonly OldImage?: StreamImage;
    /** Unix seconds (with a fraction) of the write. */
    readonly ApproximateCreationDateTime?: number;
    readonly SequenceNumber?: string;
    readonly SizeBytes?: number;
    readonly StreamViewType?: string;
  };
}

/** The record an image holds, with numbers as the writer gave them (big ones come back as the same doubles). */
export function recordOfImage(image: StreamImage | undefined): ConversationRecord | undefined {
  if (image === undefined) return undefined;
  return fromStoredValue(unmarshall(image, { wrapNumbers: true })) as ConversationRecord;
}

const STREAM_ARN = /^(arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+))\/stream\//;

/** The table a stream record comes from (its name and ARN), read from the stream's ARN. */
export function sourceTableOf(record: TableStreamRecord): { readonly name: string; readonly arn: string } | undefined {
  const match = STREAM_ARN.exec(record.eventSourceARN ?? '');
  return match?.[1] === undefined || match[2] === undefined ? undefined : { arn: match[1], name: match[2] };
}
