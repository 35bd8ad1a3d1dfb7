import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { conversationsTableDefinition } from '../../lambdas/core/record/conversation-table-schema.js';

export { conversationsTableDefinition, CONVERSATIONS_TABLE } from '../../lambdas/core/record/conversation-table-schema.js';

/** Creates the conversations table (exact production keys and GSIs) on the emulator and waits until it is ACTIVE. */
export async function createConversationsTable(client: DynamoDBClient, tableName = `conversations-${Math.random().toString(36).slice(2, 10)}`): Promise<string> {
  await client.send(new CreateTableCommand(conversationsTableDefinition(tableName)));
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return tableName;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
