/**
 * The pure parts of `npm run bench`: the cost model's arithmetic on hand-computable inputs, the mapping from measured
 * figures to its inputs, and the README block replacement and tables the bench writes.
 */
import { describe, expect, it } from 'vitest';
import {
  costInputsFromFigures,
  costPerMillionConversations,
  missingCostFigures,
  US_EAST_1_PRICES,
  type CostFigures,
  type CostInputs,
  type CostLineItem,
  type CostModel,
  type Price,
  type Prices,
} from '../../bin/bench/cost-model.js';
import {
  BENCH_BLOCK_END,
  BENCH_BLOCK_START,
  describeMachine,
  formatPrice,
  lostFigures,
  markdownTable,
  renderBenchBlock,
  replaceBenchBlock,
  type MachineInfo,
} from '../../bin/bench/report.js';
import type { BenchSection } from '../../bin/bench/section.js';

const KIB = 1024;
const GIB = 1024 ** 3;

/** Every price one dollar per unit, so each line's cost equals its quantity. */
const UNIT_PRICES = Object.fromEntries(Object.keys(US_EAST_1_PRICES).map((name) => [name, { usd: 1, unit: 'unit', source: 'test' } satisfies Price])) as unknown as Prices;

/** Round numbers a person can check: 1 webhook per conversation, sizes in KiB, durations in whole milliseconds. */
const INPUTS: CostInputs = {
  webhooksPerConversation: 1,
  webhookBodyBytes: 600 * KIB, // just over one 512 KB metering unit: 2 units
  queueMessageBytes: 100 * KIB, // two 64 KB chunks; a batch of 10 is 1,000 KiB = 16 chunks
  archiveObjectBytes: 2 * KIB,
  receiverMsPerInvocation: 9.2, // billed as 10 ms
  receiverMemoryMb: 512,
  consumerMsPerRecord: 3,
  consumerBatchSize: 10,
  consumerMemoryMb: 1024,
  recordItemBytes: 2500, // 3 write units, 1 read unit
  indexes: 2,
  indexEntryBytes: 1100, // 2 write units per index
  pollerMsPerListedConversation: 0.2,
  pollerMemoryMb: 512,
  pollerListingsPerConversation: 7,
  pollerRunsPerMonth: 4320,
  logBytesPerReceiverInvocation: 1000,
  logBytesPerConsumerInvocation: 500,
  logBytesPerConsumerRecord: 300,
  secrets: 2,
  warmReceiverEnvironments: 1,
  secretCacheTtlSecs: 300,
};

function item(items: readonly CostLineItem[], service: string, what: string): CostLineItem {
  const found = items.find((candidate) => candidate.service === service && candidate.item.startsWith(what));
  if (found === undefined) throw new Error(`no line ${service} / ${what} in ${items.map((candidate) => `${candidate.service} / ${candidate.item}`).join('; ')}`);
  return found;
}

describe('costPerMillionConversations', () => {
  const model: CostModel = costPerMillionConversations(INPUTS, UNIT_PRICES);
  const quantity = (service: string, what: string) => item(model.perMillion, service, what).quantity;

  it('meters HTTP API requests in 512 KB units', () => {
    expect(quantity('API Gateway', 'HTTP API requests')).toBe(2_000_000);
  });

  it('bills Lambda per request and per GB-second at each function\'s memory, rounding each invocation up to a whole millisecond', () => {
    expect(quantity('Lambda', 'receiver requests')).toBe(1_000_000);
    expect(quantity('Lambda', 'receiver duration')).toBeCloseTo(1_000_000 * 0.01 * 0.5, 6); // 5,000 GB-s
    expect(quantity('Lambda', 'consumer requests')).toBe(100_000);
    expect(quantity('Lambda', 'consumer duration')).toBeCloseTo(100_000 * 0.03 * 1, 6); // 3,000 GB-s
    expect(quantity('Lambda', 'poller duration')).toBeCloseTo(7_000_000 * 0.0002 * 0.5, 6); // 700 GB-s
  });

  it('counts SQS requests in 64 KB chunks, with receive and delete once per batch', () => {
    expect(quantity('SQS', 'SendMessage')).toBe(2_000_000);
    expect(quantity('SQS', 'ReceiveMessage')).toBe(100_000 * 16);
    expect(quantity('SQS', 'DeleteMessageBatch')).toBe(100_000);
  });

  it('charges one S3 PUT per webhook and a month of Standard storage for the archive', () => {
    expect(quantity('S3', 'PUT')).toBe(1_000_000);
    expect(quantity('S3', 'archive storage')).toBeCloseTo((1_000_000 * 2 * KIB) / GIB, 9);
  });

  it('writes each record to the table and an entry to every index, in 1 KB units, after a consistent read', () => {
    expect(quantity('DynamoDB', 'writes')).toBe(1_000_000 * (3 + 2 * 2));
    expect(quantity('DynamoDB', 'consistent reads')).toBe(1_000_000);
    expect(quantity('DynamoDB', 'poller presence checks')).toBe(7_000_000 * 0.5);
    expect(quantity('DynamoDB', 'storage')).toBeCloseTo((1_000_000 * (2500 + 100 + 2 * (1100 + 100))) / GIB, 9);
  });

  it('reads an existing record again for every further webhook of its conversation', () => {
    const withAudio = costPerMillionConversations({ ...INPUTS, webhooksPerConversation: 2, recordItemBytes: 9000 }, UNIT_PRICES);
    // First event: the item does not exist yet (1 unit); second event: a 9,000 B item is 3 read units of 4 KB.
    expect(item(withAudio.perMillion, 'DynamoDB', 'consistent reads').quantity).toBe(1_000_000 * 1 + 1_000_000 * 3);
    expect(item(withAudio.perMillion, 'Lambda', 'receiver requests').quantity).toBe(2_000_000);
  });

  it('sums log bytes of receiver invocations, consumer invocations and consumer records', () => {
    expect(quantity('CloudWatch Logs', 'ingestion')).toBeCloseTo((1_000_000 * 1000 + 100_000 * 500 + 1_000_000 * 300) / GIB, 9);
  });

  it('keeps schedule and secret costs apart, per month', () => {
    const perMonth = (service: string, what: string) => item(model.perMonth, service, what).quantity;
    expect(perMonth('Lambda', 'poller requests')).toBe(4320);
    expect(perMonth('Secrets Manager', 'secrets')).toBe(2);
    // One warm receiver re-reads every 300 s over 30 days (8,640) and each poller run reads once (4,320).
    expect(perMonth('Secrets Manager', 'GetSecretValue')).toBe(8640 + 4320);
  });

  it('prices each quantity at its unit price and totals the lines', () => {
    const priced = costPerMillionConversations(INPUTS, US_EAST_1_PRICES);
    expect(item(priced.perMillion, 'API Gateway', 'HTTP API requests').costUsd).toBeCloseTo(2.0, 9);
    expect(item(priced.perMillion, 'DynamoDB', 'writes').costUsd).toBeCloseTo(7 * 0.625, 9);
    expect(item(priced.perMillion, 'Lambda', 'receiver duration').costUsd).toBeCloseTo(5000 * 0.0000133334, 9);
    expect(priced.perMillionTotalUsd).toBeCloseTo(priced.perMillion.reduce((sum, line) => sum + line.quantity * line.unitPriceUsd, 0), 9);
    expect(item(priced.perMonth, 'Secrets Manager', 'secrets').costUsd).toBeCloseTo(0.8, 9);
  });
});

describe('costInputsFromFigures', () => {
  const figures: CostFigures = {
    webhookBodyBytesMean: 8200,
    queueMessageBytesMean: 8300,
    archiveObjectBytesMean: 2100,
    receiverMeanMs: 4.5,
    consumerMeanMsPerRecord: 2.5,
    consumerBatchSize: 10,
    recordItemBytesMean: 9000,
    pollerRunMs: 5000,
    pollerConversations: 10_000,
    indexEntryBytesMean: 450,
  };

  it('takes durations and sizes from the figures and the rest from the stack', () => {
    const inputs = costInputsFromFigures(figures);
    expect(inputs.pollerMsPerListedConversation).toBe(0.5);
    expect(inputs.receiverMsPerInvocation).toBe(4.5);
    expect(inputs.queueMessageBytes).toBe(8300);
    expect(inputs.consumerMemoryMb).toBe(1024);
  });

  it('counts message attributes towards SQS chunks when they were measured', () => {
    expect(costInputsFromFigures({ ...figures, queueMessageWithAttributesBytesMean: 8700 }).queueMessageBytes).toBe(8700);
  });

  it('names every figure it lacks', () => {
    const { pollerRunMs: _run, receiverMeanMs: _receiver, ...partial } = figures;
    expect(missingCostFigures(partial)).toEqual(['receiverMeanMs', 'pollerRunMs']);
    expect(missingCostFigures({ ...figures, receiverMeanMs: Number.NaN })).toEqual(['receiverMeanMs']);
    expect(missingCostFigures(figures)).toEqual([]);
  });
});

describe('replaceBenchBlock', () => {
  const readme = ['# Title', '', '## Performance', '', 'How to run it.', '', BENCH_BLOCK_START, 'old figures', 'more old figures', BENCH_BLOCK_END, '', '## Next', 'text'].join('\n');

  it('replaces only the text between the markers', () => {
    const updated = replaceBenchBlock(readme, 'new figures');
    expect(updated).toBe(['# Title', '', '## Performance', '', 'How to run it.', '', BENCH_BLOCK_START, 'new figures', BENCH_BLOCK_END, '', '## Next', 'text'].join('\n'));
  });

  it('gives the same README when run again with the same block', () => {
    const once = replaceBenchBlock(readme, '| a |\n|---|\n| 1 |');
    expect(replaceBenchBlock(once, '| a |\n|---|\n| 1 |')).toBe(once);
  });

  it('refuses a README without both markers, with them reversed, or with two blocks', () => {
    expect(() => replaceBenchBlock('# no block', 'x')).toThrow(/no <!-- bench:start -->/);
    expect(() => replaceBenchBlock(`${BENCH_BLOCK_START}\nonly the start`, 'x')).toThrow(/no/);
    expect(() => replaceBenchBlock(`${BENCH_BLOCK_END}\n${BENCH_BLOCK_START}`, 'x')).toThrow(/before/);
    expect(() => replaceBenchBlock(`${readme}\n${BENCH_BLOCK_START}\n${BENCH_BLOCK_END}`, 'x')).toThrow(/more than one/);
  });
});

describe('report rendering', () => {
  const machine: MachineInfo = { cpuModel: 'Test CPU @ 2.0GHz', cpuCount: 2, totalMemoryBytes: 24 * GIB, nodeVersion: 'v20.20.2', os: 'Linux 6.1 (x64)', date: '2026-11-23' };

  it('writes a markdown table with a separator row and escaped pipes', () => {
    expect(markdownTable([['what', 'figure'], ['a | b', '1 ms']])).toBe('| what | figure |\n|---|---|\n| a \\| b | 1 ms |');
  });

  it('names the machine and every section in the README block', () => {
    const section: BenchSection = { title: 'Example', table: [['x'], ['1']], notes: ['a note'], figures: { x: 1 } };
    const block = renderBenchBlock([section], machine);
    expect(describeMachine(machine)).toBe('2 × Test CPU @ 2.0GHz, 24 GiB memory, Node 20.20.2, Linux 6.1 (x64), 2026-11-23');
    expect(block).toContain(describeMachine(machine));
    expect(block).toContain('### Example\n\n| x |\n|---|\n| 1 |\n\n- a note');
  });

  it('shows countable prices per million and rates as written', () => {
    expect(formatPrice({ usd: 0.625 / 1e6, unit: 'write request unit', source: 'test' })).toBe('$0.625 per million × write request unit');
    expect(formatPrice({ usd: 0.0000133334, unit: 'GB-second', source: 'test' })).toBe('$0.0000133334 per GB-second');
    expect(formatPrice({ usd: 0.4, unit: 'secret-month', source: 'test' })).toBe('$0.40 per secret-month');
  });

  it('reports figures of lost conversations that are not zero', () => {
    expect(lostFigures({ pipelineLost: 0, pipelineC16Lost: 2, receiverP50Ms: 3 })).toEqual(['pipelineC16Lost=2']);
    expect(lostFigures({ pipelineLost: 0 })).toEqual([]);
  });
});
