/**
 * The strict emulator layer: dynalite and fauxqs accept what DynamoDB and SQS refuse (an index key over 2,048 bytes or
 * empty, nesting beyond 32 levels, an empty attribute name; control characters in a message attribute, a message
 * over 1 MiB with its attributes…). This layer sits in each SDK client the local pipeline and the tests build (one
 * middleware after serialisation, before retries), checks every request as it would go on the wire against the same
 * rules the code is held to (lambdas/core/storage-limits.ts), and fails it as AWS would: a ValidationException (or
 * SQS's InvalidParameterValue), status 400, not retried. So a case that would fail in AWS fails locally too.
 *
 * What stays unemulated is listed in README "Local pipeline"; dynalite itself already enforces the table's own key
 * sizes, item size and number range and precision, which the tests prove against AWS's DynamoDB Local.
 */
import { DescribeTableCommand, type DynamoDBClient, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BuildMiddleware, HttpRequest } from '@smithy/types';
import { AWS_LIMITS } from '../../lambdas/core/contract.js';
import { isDynamoDbNumberText, keyValueProblem, sqsMessageProblem, type SqsAttributeValue } from '../../lambdas/core/storage-limits.js';

/** The error a refused request fails with, shaped as the SDK shapes AWS's own (name, fault, status). */
export class StrictEmulatorError extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

const MIDDLEWARE_NAME = 'strictEmulatorLayer';

function requestBody(args: { request: unknown }): { operation: string; body: Record<string, unknown> } | undefined {
  const request = args.request as HttpRequest;
  const target = request.headers?.['x-amz-target'];
  const body: unknown = request.body;
  // The SDK's JSON serialiser hands over a string or UTF-8 bytes.
  const text = typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : undefined;
  if (typeof target !== 'string' || text === undefined) return undefined;
  return { operation: target.slice(target.lastIndexOf('.') + 1), body: JSON.parse(text) as Record<string, unknown> };
}

function addCheck(client: { middlewareStack: DynamoDBClient['middlewareStack'] | SQSClient['middlewareStack'] }, check: (operation: string, body: Record<string, unknown>) => Promise<void>): void {
  const middleware: BuildMiddleware<object, object> = (next) => async (args) => {
    const parsed = requestBody(args);
    if (parsed !== undefined) await check(parsed.operation, parsed.body);
    return next(args);
  };
  const stack = client.middlewareStack as unknown as { add(middleware: BuildMiddleware<object, object>, options: { step: 'build'; name: string; override: boolean }): void };
  stack.add(middleware, { step: 'build', name: MIDDLEWARE_NAME, override: true });
}

// ---------------------------------------------------------------------------------------------------------------
// DynamoDB
// ---------------------------------------------------------------------------------------------------------------

/** A wire-format attribute value (`{"S": "…"}`, `{"M": {…}}`, …). */
type AttributeValue = Record<string, unknown>;

/** A table's key attributes: the table's own and each global index's, with their roles. */
interface KeyAttributes {
  readonly keys: ReadonlyArray<{ readonly name: string; readonly role: 'partition' | 'sort'; readonly index?: string }>;
}

function validation(message: string): StrictEmulatorError {
  return new StrictEmulatorError('ValidationException', message);
}

/** What DynamoDB would refuse in one attribute value at `level` (the top-level attribute is level 1). */
function attributeValueProblem(value: AttributeValue, level: number): string | undefined {
  if (level > AWS_LIMITS.dynamoDbMaxNestingLevels) return 'Nesting Levels have exceeded supported limits';
  // Like AWS's own messages, ours never quote a value: the caller may log them.
  if (typeof value.N === 'string' && !isDynamoDbNumberText(value.N)) return 'a number is outside the supported range or precision (38 digits)';
  if (value.M !== undefined) {
    for (const [name, element] of Object.entries(value.M as Record<string, AttributeValue>)) {
      if (name === '') return 'Empty attribute name';
      const problem = attributeValueProblem(element, level + 1);
      if (problem !== undefined) return problem;
    }
  }
  if (Array.isArray(value.L)) {
    for (const element of value.L as AttributeValue[]) {
      const problem = attributeValueProblem(element, level + 1);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** What DynamoDB would refuse in an item (or a key) of a table with these key attributes. */
function itemProblem(item: Record<string, AttributeValue>, table: KeyAttributes): string | undefined {
  for (const [name, value] of Object.entries(item)) {
    if (name === '') return 'Empty attribute name';
    const problem = attributeValueProblem(value, 1);
    if (problem !== undefined) return problem;
  }
  for (const key of table.keys) {
    const value = item[key.name];
    const text = typeof value?.S === 'string' ? value.S : undefined;
    const problem = text === undefined ? undefined : keyValueProblem(text, key.role);
    if (problem === 'empty') return `The AttributeValue for a key attribute cannot contain an empty string value. Key: ${key.name}${key.index === undefined ? '' : ` (index ${key.index})`}`;
    if (problem === 'too_long') return key.index === undefined ? 'Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024 bytes' : `One or more parameter values were invalid: Size limit exceeded (index ${key.index} key ${key.name})`;
  }
  return undefined;
}

/** The items and keys a request writes or names, by table. */
function itemsOf(operation: string, body: Record<string, unknown>): Array<{ table: string; item: Record<string, AttributeValue> }> {
  const table = typeof body.TableName === 'string' ? body.TableName : '';
  switch (operation) {
    case 'PutItem':
      return [{ table, item: body.Item as Record<string, AttributeValue> }];
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [{ table, item: body.Key as Record<string, AttributeValue> }];
    case 'BatchGetItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, { Keys?: Record<string, AttributeValue>[] }>).flatMap(([name, request]) => (request.Keys ?? []).map((item) => ({ table: name, item })));
    case 'BatchWriteItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, Array<{ PutRequest?: { Item: Record<string, AttributeValue> }; DeleteRequest?: { Key: Record<string, AttributeValue> } }>>).flatMap(([name, requests]) =>
        requests.map((request) => ({ table: name, item: request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {} })),
      );
    default:
      return [];
  }
}

function keyAttributesOf(schema: readonly KeySchemaElement[] | undefined, index?: string): KeyAttributes['keys'] {
  return (schema ?? []).map((key) => ({ name: key.AttributeName ?? '', role: key.KeyType === 'RANGE' ? 'sort' : 'partition', ...(index === undefined ? {} : { index }) }));
}

/**
 * Puts the strict layer on a DynamoDB client (a document client shares its client's middleware). Each table's key
 * schema, indexes included, is read once with DescribeTable, sent through `describeWith` when given: a document
 * client whose stack holds middleware placed relative to lib-dynamodb's own (the local table stream's) can send only
 * document commands, so it needs a plain client for that.
 */
export function enforceDynamoDbLimits(client: Pick<DynamoDBClient, 'middlewareStack' | 'send'>, describeWith: Pick<DynamoDBClient, 'send'> = client): void {
  const schemas = new Map<string, Promise<KeyAttributes>>();
  const schemaOf = (table: string) => {
    let schema = schemas.get(table);
    if (schema === undefined) {
      schema = Promise.resolve(describeWith.send(new DescribeTableCommand({ TableName: table }))).then(({ Table }) => ({
        keys: [...keyAttributesOf(Table?.KeySchema), ...(Table?.GlobalSecondaryIndexes ?? []).flatMap((index) => keyAttributesOf(index.KeySchema, index.IndexName))],
      }));
      // A table that does not exist yet is described again next time (the request itself then fails as it should).
      schema.catch(() => schemas.delete(table));
      schemas.set(table, schema);
    }
    return schema;
  };
  addCheck(client, async (operation, body) => {
    for (const { table, item } of itemsOf(operation, body)) {
      const keys = await schemaOf(table).catch(() => ({ keys: [] }));
      const problem = itemProblem(item, keys);
      if (problem !== undefined) throw validation(`One or more parameter values were invalid: ${problem}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------------------------

interface WireMessage {
  readonly MessageBody?: string;
  readonly MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
}

function wireAttributes(message: WireMessage): Record<string, SqsAttributeValue> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      { DataType: value.DataType, StringValue: value.StringValue, ...(value.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(value.BinaryValue, 'base64') }) },
    ]),
  );
}

/** Puts the strict layer on an SQS client: every message sent must be one SQS takes (characters, attributes, size). */
export function enforceSqsLimits(client: Pick<SQSClient, 'middlewareStack'>): void {
  addCheck(client, async (operation, body) => {
    const messages: WireMessage[] = operation === 'SendMessage' ? [body as WireMessage] : operation === 'SendMessageBatch' ? ((body.Entries ?? []) as WireMessage[]) : [];
    for (const message of messages) {
      const problem = sqsMessageProblem(message.MessageBody ?? '', wireAttributes(message));
      if (problem !== undefined) throw new StrictEmulatorError('InvalidParameterValue', `One or more parameters are invalid. Reason: ${problem}.`);
    }
  });
}
