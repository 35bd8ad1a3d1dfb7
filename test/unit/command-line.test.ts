import { describe, expect, it } from 'vitest';
import { flagsTakenByNpm, parseCommandLine, refuseFlagsTakenByNpm, type FlagOptions } from '../../bin/cli/command-line.js';
import { CommandUsageError } from '../../bin/cli/io.js';
import { closestMatch, didYouMean, editDistance } from '../../lambdas/core/closest-match.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['json', 'json', 0],
    ['jsn', 'json', 1],
    ['json', 'jsno', 1],
    ['prot', 'port', 1],
    ['ab', 'ba', 1],
    ['ca', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['dry-run', 'dryrun', 1],
  ])('%j → %j is %i', (a, b, expected) => {
    expect(editDistance(a, b)).toBe(expected);
    expect(editDistance(b, a)).toBe(expected);
  });
});

describe('closestMatch', () => {
  const flags = ['json', 'local', 'since', 'until', 'stack', 'status'];

  it('suggests the nearest candidate for a typo, case-insensitively', () => {
    expect(closestMatch('jsn', flags)).toBe('json');
    expect(closestMatch('LOCAL', flags)).toBe('local');
    expect(closestMatch('sinse', flags)).toBe('since');
  });

  it('suggests nothing for a word too far from every candidate', () => {
    expect(closestMatch('frobnicate', flags)).toBeUndefined();
    expect(closestMatch('xyz', flags)).toBeUndefined();
  });

  it('allows more edits for longer words', () => {
    expect(closestMatch('webhookSecretArm', ['webhookSecretArn', 'alarmEmail'])).toBe('webhookSecretArn');
    expect(closestMatch('pollerSettleDelay', ['pollerSettleDelaySecs'])).toBe('pollerSettleDelaySecs');
  });

  it('renders a suggestion as a parenthesis, or nothing', () => {
    expect(didYouMean('jsn', flags, (flag) => `--${flag}`)).toBe(' (did you mean --json?)');
    expect(didYouMean('zzzzzz', flags)).toBe('');
  });
});

describe('parseCommandLine', () => {
  const options = {
    json: { type: 'boolean', default: false },
    since: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const satisfies FlagOptions;

  it('reads flags and positionals, with values inline or separate', () => {
    const parsed = parseCommandLine(['list', '--since', '2026-01-01', '--json', 'x', '--since=-5'], options);
    expect(parsed.values).toMatchObject({ json: true, since: '-5' });
    expect(parsed.positionals).toEqual(['list', 'x']);
  });

  it.each([
    [['--jsn'], 'unknown flag --jsn (did you mean --json?)'],
    [['--dryrun'], 'unknown flag --dryrun (did you mean --dry-run?)'],
    [['--frobnicate=1'], 'unknown flag --frobnicate'],
    [['-x'], 'unknown flag -x'],
    [['--since'], '--since needs a value'],
    [['--since', '--json'], '--since needs a value'],
    [['--json=true'], '--json takes no value'],
  ])('explains %j in one sentence', (argv, message) => {
    expect(() => parseCommandLine(argv, options)).toThrow(new CommandUsageError(message));
  });

  it('takes everything after -- as positional', () => {
    expect(parseCommandLine(['--', '--jsn'], options).positionals).toEqual(['--jsn']);
  });

  it('accepts a negative number as a value', () => {
    expect(parseCommandLine(['--since', '-3600'], options).values.since).toBe('-3600');
  });
});

describe('flags npm run took for itself', () => {
  const options = { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, since: { type: 'string' } } as const satisfies FlagOptions;

  it('are the ones npm left as npm_config_<flag>=true under npm run', () => {
    const env = { npm_lifecycle_event: 'backfill', npm_config_json: 'true', npm_config_dry_run: 'true', npm_config_cache: '/root/.npm' };
    expect(flagsTakenByNpm(env, options)).toEqual(['json', 'dry-run']);
    expect(() => refuseFlagsTakenByNpm(env, options)).toThrow(
      'npm took --json, --dry-run for itself: put the command\'s flags after -- (`npm run backfill -- …`), or use `npx elevenlabs-conversations …`',
    );
  });

  it('are none outside npm run', () => {
    expect(flagsTakenByNpm({ npm_config_json: 'true' }, options)).toEqual([]);
  });
});
