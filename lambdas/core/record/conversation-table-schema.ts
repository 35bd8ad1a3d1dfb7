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
  /**
   * What both indexes carry besides their keys and the table's (projection INCLUDE): what listings read, i.e. the
   * command line's `list` table, the viewer's list and overview, and the `status` filter. `get`, `export`,
   * `list --json` and the dataset rebuild read the whole item from the table. Each write then costs each index one
   * unit (an entry is well under 1 KB) instead of the item's size, and a write that changes none of these none.
   */
  listAttributes: [
    'agent_id',
    'start_day',
    'status',
    'agent_name',
    'call_duration_secs',
    'call_successful',
    'call_summary_title',
    'transcript_summary',
    'has_audio',
    'audio',
    'audio_unavailable',
    'initiation_failure',
  ],
} as const;

/** An index's own key attributes and the table's are in every entry; the rest of `listAttributes` is projected. */
export function projectedAttributesOf(index: { readonly partitionKey: string; readonly sortKey: string }): string[] {
  const keys = new Set([CONVERSATIONS_TABLE.partitionKey, index.partitionKey, index.sortKey]);
  return CONVERSATIONS_TABLE.listAttributes.filter((name) => !keys.has(name));
}

/**
 * CreateTable input for the conversations table (on-demand, both GSIs projecting `listAttributes`).
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
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: projectedAttributesOf(index) },
    })),
  };
}
