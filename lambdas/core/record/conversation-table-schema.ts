/**
 * The conversations table's public schema: one item per conversation, two time-ordered indexes.
 * Shared by the consumer, the read API, the local pipeline (bin/) and the tests, so every copy of the
 * table has exactly the same keys as the one the CDK stack deploys.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** Attribute and index names of the conversations table (the contract in the team brief). */
export const CONVERSATIONS_TABLE = {
  partitionKey: 'conversation_id',
  /** TTL attribute (unix seconds). Nothing sets it by default: records are kept forever. */
  ttlAttribute: 'expires_at',
  byAgentIndex: { indexName: 'by_agent', partitionKey: 'agent_id', sortKey: 'start_time_unix_secs' },
  byDayIndex: { indexName: 'by_day', partitionKey: 'start_day', sortKey: 'start_time_unix_secs' },
} as const;

/**
 * CreateTable input for the conversations table (on-demand, both GSIs with projection ALL).
 * TTL is a separate UpdateTimeToLive call, which dynalite does not support; the stack turns it on.
 */
export function conversationsTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, byAgentIndex, byDayIndex } = CONVERSATIONS_TABLE;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: byAgentIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: byDayIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: byAgentIndex.sortKey, AttributeType: 'N' },
    ],
    GlobalSecondaryIndexes: [byAgentIndex, byDayIndex].map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}
