import { Duration } from 'aws-cdk-lib';

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
// EventBridge Scheduler cron: six space-separated fields (minutes hours day-of-month month day-of-week year).
const CRON = /^cron\((\S+ ){5}\S+\)$/;

/** Why `expression` is not a usable poller schedule, or undefined when it is. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1) return 'a rate must be at least 1';
    if ((value === 1) !== !unit.endsWith('s')) return `write "rate(${value} ${value === 1 ? unit.replace(/s$/, '') : `${unit.replace(/s$/, '')}s`})"`;
    return undefined;
  }
  if (CRON.test(expression)) return undefined;
  return 'expected rate(<n> minute[s]|hour[s]|day[s]) or cron(<6 fields>)';
}

/** The interval of a `rate(...)` expression; undefined for cron (irregular) or invalid expressions. */
export function scheduleInterval(expression: string): Duration | undefined {
  const rate = RATE.exec(expression);
  if (rate === null) return undefined;
  const value = Number(rate[1]);
  const unit = (rate[2] ?? '').replace(/s$/, '');
  if (unit === 'minute') return Duration.minutes(value);
  if (unit === 'hour') return Duration.hours(value);
  return Duration.days(value);
}
