import { describe, expect, it } from 'vitest';
import { CommandUsageError } from '../../bin/cli/io.js';
import { parseTimeArgument } from '../../bin/cli/time-argument.js';

describe('parseTimeArgument', () => {
  it.each([
    ['2026-01-31', Date.parse('2026-01-31T00:00:00Z') / 1000],
    ['2026-01-31T09:30', Date.parse('2026-01-31T09:30:00Z') / 1000],
    ['2026-01-31T09:30:15.5', Date.parse('2026-01-31T09:30:15Z') / 1000],
    ['2026-01-31T09:30:00+01:00', Date.parse('2026-01-31T08:30:00Z') / 1000],
    ['2026-01-31T09:30:00-0530', Date.parse('2026-01-31T15:00:00Z') / 1000],
    ['2026-01-31T09:30:00+01', Date.parse('2026-01-31T08:30:00Z') / 1000],
    ['2026-01-31T09:30:00Z', Date.parse('2026-01-31T09:30:00Z') / 1000],
    ['2024-02-29', Date.parse('2024-02-29T00:00:00Z') / 1000],
    ['2026-12-31T23:59:59.999Z', Date.parse('2026-12-31T23:59:59Z') / 1000],
    ['1767300000', 1_767_300_000],
  ])('reads %s (a date-time without a zone as UTC)', (text, expected) => {
    expect(parseTimeArgument('since', text)).toBe(expected);
  });

  it.each([
    ['2026-02-30', '--since 2026-02-30 is not a date: February 2026 has 28 days'],
    ['2025-02-29', '--since 2025-02-29 is not a date: February 2025 has 28 days'],
    ['2026-04-31T10:00', '--since 2026-04-31T10:00 is not a date: April 2026 has 30 days'],
    ['2026-13-01', '--since 2026-13-01: there is no month 13'],
    ['2026-00-10', '--since 2026-00-10: there is no month 0'],
    ['2026-01-00', '--since 2026-01-00 is not a date: January 2026 has 31 days'],
    ['2026-01-31T24:00', '--since 2026-01-31T24:00 is not a time of day (hours 00-23, minutes and seconds 00-59)'],
    ['2026-01-31T09:60', '--since 2026-01-31T09:60 is not a time of day (hours 00-23, minutes and seconds 00-59)'],
    ['2026-01-31T09:30:61', '--since 2026-01-31T09:30:61 is not a time of day (hours 00-23, minutes and seconds 00-59)'],
    ['2026-01-31T09:30+25:00', '--since 2026-01-31T09:30+25:00: the zone offset must be at most ±23:59'],
  ])('refuses the impossible %s instead of rolling it over', (text, message) => {
    expect(() => parseTimeArgument('since', text)).toThrow(new CommandUsageError(message));
  });

  it.each(['yesterday', '31/01/2026', '2026-1-31', '2026-01-31 09:30', '2026-01-31T9:30', ''])('refuses %j', (text) => {
    expect(() => parseTimeArgument('since', text)).toThrow(/--since must be an ISO-8601 date or date-time, or unix seconds/);
  });

  it('refuses milliseconds, which would silently mean the year 57000', () => {
    expect(() => parseTimeArgument('since', '1767300000000')).toThrow(/looks like milliseconds/);
  });
});
