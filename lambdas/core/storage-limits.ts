/**
 * What AWS accepts, stated once: the rules a value must meet to be a DynamoDB key or value, or to travel in an SQS
 * message. The numbers are contract.ts AWS_LIMITS, each linked there to the AWS page it comes from. Pure.
 *
 * Used at the door (the receiver refuses identifiers that cannot be keys: 400, nothing stored), by the queue contract
 * (only characters SQS allows in attributes), by the consumer (what DynamoDB cannot hold goes to S3), and by the local
 * pipeline's strict emulator layer (bin/local/strict-emulators.ts), so dynalite and fauxqs refuse what AWS refuses.
 */
// The class lib-dynamodb re-exports as NumberValue, from its side-effect-free package (keeps the DynamoDB client out of bundles that only need the class).
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { AWS_LIMITS } from './contract.js';
import { decimalParts } from './exact-json.js';
import { exceedsNestingLimit, isContainer } from './json-nesting.js';

// ---------------------------------------------------------------------------------------------------------------
// DynamoDB
// ---------------------------------------------------------------------------------------------------------------

/** Why a string cannot be a key value; undefined when it can. */
export type KeyProblem = 'empty' | 'too_long';

/**
 * Whether `value` can be a partition or sort key value: at least 1 byte (no empty strings, for table and index keys
 * alike) and at most 2,048 (partition) or 1,024 (sort) bytes of UTF-8. An item whose index key attribute breaks this
 * is refused whole, not left out of the index.
 */
export function keyValueProblem(value: string, role: 'partition' | 'sort'): KeyProblem | undefined {
  if (value === '') return 'empty';
  const limit = role === 'partition' ? AWS_LIMITS.dynamoDbPartitionKeyMaxBytes : AWS_LIMITS.dynamoDbSortKeyMaxBytes;
  return Buffer.byteLength(value, 'utf8') > limit ? 'too_long' : undefined;
}

/** DynamoDB numbers as doubles: zero, or a magnitude in [1E-130, 1E+126). */
export function isDynamoDbNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && (magnitude === 0 || (magnitude >= 1e-130 && magnitude < 1e126));
}

/** A number's text as DynamoDB judges it: at most 38 significant digits, and zero or a magnitude in range. */
export function isDynamoDbNumberText(text: string): boolean {
  const parts = decimalParts(text);
  if (parts === undefined) return false;
  if (parts.digits === '') return true;
  const leadingExponent = parts.exponent + parts.digits.length - 1;
  return parts.digits.length <= AWS_LIMITS.dynamoDbNumberMaxDigits && leadingExponent >= AWS_LIMITS.dynamoDbNumberMinExponent && leadingExponent <= AWS_LIMITS.dynamoDbNumberMaxExponent;
}

/**
 * Whether `value`, stored as one attribute, is something DynamoDB accepts: nesting of 32 levels at most, numbers it can
 * hold (doubles and exact NumberValues alike), no empty map keys (attribute names), and no `__proto__` key (the
 * marshaller assigns keys, which sets a prototype instead). Iterative, like exceedsNestingLimit.
 */
export function isDynamoDbStorable(value: unknown): boolean {
  if (exceedsNestingLimit(value, AWS_LIMITS.dynamoDbMaxNestingLevels)) return false;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'number' && !isDynamoDbNumber(next)) return false;
    if (next instanceof NumberValue && !isDynamoDbNumberText(next.toString())) return false;
    if (!isContainer(next)) continue;
    if (!Array.isArray(next) && (Object.hasOwn(next, '__proto__') || Object.hasOwn(next, ''))) return false;
    // One by one: spreading a list of 100,000 turns into push() would exceed the arguments limit.
    for (const element of Array.isArray(next) ? next : Object.values(next)) pending.push(element);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------------------------

/**
 * Characters SQS refuses in a message body and in String attribute values: all but #x9 #xA #xD #x20–#xD7FF
 * #xE000–#xFFFD #x10000–#x10FFFF (a lone surrogate is not a character, so it is refused too).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
const SQS_REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Whether SQS accepts `text` as a message body or a String attribute value. */
export function isSqsText(text: string): boolean {
  return !SQS_REFUSED_CHARACTER.test(text);
}

/**
 * Attribute names: alphanumerics, `-`, `_`, `.`; at most 256 characters; not starting with `AWS.` or `Amazon.`
 * (any case); no period first, last, or twice in a row.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
 */
export function isSqsAttributeName(name: string): boolean {
  return (
    /^[A-Za-z0-9_.-]+$/.test(name) &&
    name.length <= AWS_LIMITS.sqsMaxAttributeNameChars &&
    !/^(aws|amazon)\./i.test(name) &&
    !name.startsWith('.') &&
    !name.endsWith('.') &&
    !name.includes('..')
  );
}

/** One message attribute as the SDK sends it. */
export interface SqsAttributeValue {
  readonly DataType?: string;
  readonly StringValue?: string;
  readonly BinaryValue?: Uint8Array;
}

/** Size SQS counts against its limit: body bytes plus each attribute's name, type and value bytes. */
export function sqsMessageBytes(body: string, attributes: Readonly<Record<string, SqsAttributeValue>>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '') + (value.BinaryValue?.byteLength ?? 0);
  }
  return size;
}

/** What SQS would refuse in a SendMessage (the first problem found), or undefined when it accepts the message. */
export function sqsMessageProblem(body: string, attributes: Readonly<Record<string, SqsAttributeValue>>): string | undefined {
  if (body === '') return 'the message body is empty';
  if (!isSqsText(body)) return 'the message body holds characters outside the allowed set';
  const entries = Object.entries(attributes);
  if (entries.length > AWS_LIMITS.sqsMaxMessageAttributes) return `more than ${AWS_LIMITS.sqsMaxMessageAttributes} message attributes`;
  for (const [name, value] of entries) {
    if (!isSqsAttributeName(name)) return `message attribute name ${JSON.stringify(name.slice(0, 64))} is not allowed`;
    if (value.StringValue !== undefined && !isSqsText(value.StringValue)) return `message attribute ${name} holds characters outside the allowed set`;
    if (value.StringValue === '') return `message attribute ${name} is empty`;
  }
  const bytes = sqsMessageBytes(body, attributes);
  return bytes > AWS_LIMITS.sqsMaxMessageBytes ? `the message is ${bytes} bytes with its attributes, over ${AWS_LIMITS.sqsMaxMessageBytes}` : undefined;
}
