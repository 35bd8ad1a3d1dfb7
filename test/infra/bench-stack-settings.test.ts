/**
 * The cost model (bin/bench/cost-model.ts) keeps its own copy of the stack settings it prices, so that the bench
 * need not load aws-cdk-lib. This pins that copy to the synthesized default stack.
 */
import { describe, expect, it } from 'vitest';
import { STACK_SETTINGS } from '../../bin/bench/cost-model.js';
import { logicalId, synthesizeStack } from './support.js';

const { stack, template } = synthesizeStack();

function resourceProperties(id: string): Record<string, unknown> {
  return template.toJSON().Resources[id].Properties as Record<string, unknown>;
}

describe('the stack settings the cost model prices', () => {
  it('are the default stack’s memory sizes, batch size, indexes, schedule and secrets', () => {
    // Act
    const memory = (fn: Parameters<typeof logicalId>[0]) => resourceProperties(logicalId(fn)).MemorySize;
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: { BatchSize?: number } }>;
    const table = resourceProperties(logicalId(stack.table.table)) as { GlobalSecondaryIndexes: Array<{ Projection: { ProjectionType: string } }> };
    const projections = table.GlobalSecondaryIndexes.map((index) => index.Projection.ProjectionType);
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Array<{ Properties: { ScheduleExpression?: string } }>;
    const pollerEnvironment = (resourceProperties(logicalId(stack.poller.poller.function)).Environment as { Variables: Record<string, string> }).Variables;

    // Assess
    expect(memory(stack.ingress.receiver.function)).toBe(STACK_SETTINGS.receiverMemoryMb);
    expect(memory(stack.consumer.consumer.function)).toBe(STACK_SETTINGS.consumerMemoryMb);
    expect(memory(stack.poller.poller.function)).toBe(STACK_SETTINGS.pollerMemoryMb);
    expect(mappings.map((mapping) => mapping.Properties.BatchSize)).toEqual([STACK_SETTINGS.consumerBatchSize]);
    // The model prices each index write by the measured entry (write-units bench), which holds only for INCLUDE.
    expect(projections).toEqual(Array.from({ length: STACK_SETTINGS.indexes }, () => 'INCLUDE'));
    expect(schedules.map((schedule) => schedule.Properties.ScheduleExpression)).toEqual(['rate(10 minutes)']);
    expect(STACK_SETTINGS.pollerRunsPerMonth).toBe((30 * 24 * 60) / 10);
    expect(STACK_SETTINGS.pollerListingsPerConversation).toBe(1 + Number(pollerEnvironment.POLLER_OVERLAP_SECS) / 600);
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(STACK_SETTINGS.secrets);
    expect(Number(pollerEnvironment.SECRET_CACHE_TTL_SECS)).toBe(STACK_SETTINGS.secretCacheTtlSecs);
  });
});
