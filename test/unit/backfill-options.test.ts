import { describe, expect, it } from 'vitest';
import { parseBackfillArgs } from '../../bin/cli/backfill-options.js';
import { createProgressBar, summaryJson, summaryTable, type BackfillReport } from '../../bin/cli/backfill-output.js';
import { CommandUsageError } from '../../bin/cli/io.js';
import type { ReconcileSummary } from '../../lambdas/core/backfill/reconcile-range.js';

const NOW = 1_767_300_000;

describe('parseBackfillArgs', () => {
  it('defaults --until to now and the tuning flags to the poller’s values', () => {
    expect(parseBackfillArgs(['--since', '2026-01-01'], NOW)).toEqual({
      since: Date.parse('2026-01-01T00:00:00Z') / 1000,
      until: NOW,
      local: false,
      dryRun: false,
      json: false,
      backfillRecordings: true,
      help: false,
      settleDelaySecs: 600,
      concurrency: 32,
    });
  });

  it('still accepts --fetch-audio, the former opt-in, as the default it now is', () => {
    expect(parseBackfillArgs(['--since', '100', '--fetch-audio'], NOW)).toMatchObject({ backfillRecordings: true });
  });

  it('reads every flag', () => {
    const options = parseBackfillArgs(
      ['--since', '100', '--until', '200', '--agent', 'agent_x', '--dry-run', '--json', '--skip-recordings', '--settle-delay', '0', '--concurrency', '2', '--table', 't', '--queue-url', 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', '--stack', 'Prod', '--region', 'eu-west-1', '--profile', 'ops', '--bucket', 'b', '--api-key-secret', 's'],
      NOW,
    );
    expect(options).toMatchObject({ since: 100, until: 200, agentId: 'agent_x', dryRun: true, json: true, backfillRecordings: false, settleDelaySecs: 0, concurrency: 2, tableName: 't', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', stackName: 'Prod', region: 'eu-west-1', profile: 'ops', bucketName: 'b', apiKeySecretName: 's' });
  });

  it.each([
    [[], /--since is required/],
    [['--since', '200', '--until', '100'], /must be before --until/],
    [['--since', '100', '--bogus'], /^unknown flag --bogus$/],
    [['--since', '100', '--dryrun'], /^unknown flag --dryrun \(did you mean --dry-run\?\)$/],
    [['--since'], /^--since needs a value$/],
    [['--since', '100', '--json=yes'], /^--json takes no value$/],
    [['--since', '100', '--concurrency', '0'], /--concurrency must be a whole number ≥ 1/],
    [['--since', '100', '--local', '--table', 't'], /--local uses the running local pipeline/],
    [['--since', '100', '--skip-recordings', '--fetch-audio'], /contradict/],
    [['--since', '100', '--local', '--stack', 'Prod'], /--local uses the running local pipeline/],
    [['--since', '2026-02-30'], /^--since 2026-02-30 is not a date: February 2026 has 28 days$/],
    [['--since', '100', '--queue-url', 'ingest'], /^--queue-url must be the queue's URL/],
    [['--since', '100', 'extra'], /^backfill takes no positional arguments/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBackfillArgs(argv, NOW)).toThrow(message);
  });
});

const SUMMARY: ReconcileSummary = {
  listed: 10_000,
  alreadyStored: 9000,
  missing: 1000,
  backfilled: 998,
  wouldBackfill: 0,
  skippedNotFinal: 1,
  givenUpNotFinal: 0,
  skippedNotSettled: 0,
  errors: 1,
  deferred: 0,
  audio: { missing: 0, backfilled: 0, unavailable: 0, givenUp: 0, overdue: 0 },
  complete: true,
  dryRun: false,
  newWatermark: 123,
};
const REPORT: BackfillReport = { since: 1_767_225_600, until: 1_767_312_000, target: 'aws', summary: SUMMARY };

describe('summary output', () => {
  it('prints an aligned table for people', () => {
    expect(summaryTable(REPORT)).toBe(
      [
        'Back-fill 2026-01-01T00:00:00.000Z → 2026-01-02T00:00:00.000Z on AWS',
        '  listed                10000',
        '  already stored         9000',
        '  missing                1000',
        '  back-filled             998',
        '  skipped, not final        1',
        '  skipped, not settled      0',
        '  errors                    1',
      ].join('\n'),
    );
  });

  it('prints one JSON object with stable snake_case keys, and no watermark', () => {
    const parsed = JSON.parse(summaryJson({ ...REPORT, agentId: 'agent_x' })) as Record<string, unknown>;
    expect(parsed).toMatchObject({ since: 1_767_225_600, until_iso: '2026-01-02T00:00:00.000Z', agent_id: 'agent_x', listed: 10_000, already_stored: 9000, backfilled: 998, skipped_not_final: 1, errors: 1 });
    expect(parsed).not.toHaveProperty('newWatermark');
  });

  it('prints every field of the summary in the JSON form, but the watermark the backfill never moves', () => {
    // Prepare: every field set (Required: a field added to the summary must be added here), each value distinct.
    const full: Required<ReconcileSummary> = {
      listed: 1,
      alreadyStored: 2,
      missing: 3,
      backfilled: 4,
      wouldBackfill: 5,
      skippedNotFinal: 6,
      givenUpNotFinal: 7,
      skippedNotSettled: 8,
      errors: 9,
      deferred: 10,
      audio: { missing: 11, backfilled: 12, unavailable: 13, givenUp: 17, overdue: 18 },
      newWatermark: 14,
      watermarkBlockedBy: { conversationId: 'c15', startTimeUnixSecs: 16, reason: 'error' },
      complete: false,
      dryRun: true,
    };
    const leftOut = new Set<string>(['newWatermark', 'watermarkBlockedBy']);

    // Act
    const parsed = JSON.parse(summaryJson({ ...REPORT, summary: full })) as Record<string, unknown>;

    // Assess
    for (const [field, value] of Object.entries(full)) {
      const key = field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
      if (leftOut.has(field)) expect(parsed, field).not.toHaveProperty(key);
      else if (field === 'audio') expect(parsed[key]).toEqual({ missing: 11, backfilled: 12, unavailable: 13, given_up: 17, overdue: 18 });
      else expect(parsed[key], field).toEqual(value);
    }
  });

  it('shows conversations given up as not final in the table only when there are some', () => {
    // Act
    const table = summaryTable({ ...REPORT, summary: { ...SUMMARY, givenUpNotFinal: 2 } });

    // Assess
    expect(table.split('\n').slice(5, 8)).toEqual(['  skipped, not final        1', '  given up, not final       2', '  skipped, not settled      0']);
    expect(summaryTable(REPORT)).not.toContain('given up');
  });
});

describe('progress bar', () => {
  const progress = { listed: 500, alreadyStored: 450, missing: 50, backfillQueued: 50, backfillDone: 25, windowsDone: 0, windowsTotal: 1 };

  it('draws nothing when stderr is not a terminal', () => {
    const written: string[] = [];
    const bar = createProgressBar({ isTTY: false, write: (chunk) => written.push(chunk) > 0 });
    bar.update(progress);
    bar.clear();
    expect(written).toEqual([]);
  });

  it('redraws one line on a terminal and clears it at the end', () => {
    const written: string[] = [];
    let clock = 0;
    const bar = createProgressBar({ isTTY: true, columns: 200, write: (chunk) => written.push(chunk) > 0 }, () => (clock += 1000));
    bar.update(progress);
    bar.clear();
    expect(written[0]).toBe('\r[############------------] 50% · listed 500 · missing 50 · back-filled 25/50\u001b[K');
    expect(written[1]).toBe('\r\u001b[K');
  });
});
