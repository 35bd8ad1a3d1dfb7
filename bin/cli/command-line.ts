/**
 * What every command shares about its command line: parsing flags (node:util parseArgs, after our own checks so a
 * mistake gets one plain sentence rather than parseArgs' text), "did you mean" for unknown flags, flags that `npm run`
 * took for itself, and the one way a usage error is printed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from '../../lambdas/core/closest-match.js';
import { CommandUsageError, type CommandIo } from './io.js';

/** A command's flags, as node:util parseArgs takes them. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

type Parsed<T extends FlagOptions> = ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>;

/** A string flag's value may start with '-' only when it is a number (e.g. a negative offset). */
const NUMBER = /^-\d/;

function flagProblem(token: string, next: string | undefined, options: FlagOptions): string | undefined {
  const [name = '', inline] = token.slice(2).split(/=(.*)/s, 2);
  const option = options[name];
  if (option === undefined) {
    return `unknown flag --${name}${didYouMean(name, Object.keys(options), (candidate) => `--${candidate}`)}`;
  }
  if (option.type === 'boolean' && inline !== undefined) return `--${name} takes no value`;
  if (option.type === 'string' && inline === undefined && (next === undefined || (next.startsWith('-') && !NUMBER.test(next)))) {
    return `--${name} needs a value`;
  }
  return undefined;
}

function shortFlagProblem(token: string, options: FlagOptions): string | undefined {
  const letters = token.slice(1);
  const known = new Set(Object.values(options).flatMap((option) => (option.short === undefined ? [] : [option.short])));
  const unknown = [...letters].find((letter) => !known.has(letter));
  return unknown === undefined ? undefined : `unknown flag -${unknown}${letters.length === 1 ? didYouMean(letters, Object.keys(options), (candidate) => `--${candidate}`) : ''}`;
}

/**
 * Parses `argv` against `options`; positionals are allowed (commands check their own). Throws CommandUsageError
 * with one sentence: an unknown flag (with the nearest known one), a flag missing its value, or a value given to a
 * switch. Everything after a bare `--` is positional.
 */
export function parseCommandLine<T extends FlagOptions>(argv: readonly string[], options: T): Parsed<T> {
  // parseArgs calls `--since -3600` ambiguous; the checks below allow a negative number, passed on as `--since=-3600`.
  const args: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--') {
      args.push(...argv.slice(index));
      break;
    }
    let problem: string | undefined;
    if (token.startsWith('--')) problem = flagProblem(token, argv[index + 1], options);
    else if (token.startsWith('-') && token.length > 1 && !NUMBER.test(token)) problem = shortFlagProblem(token, options);
    if (problem !== undefined) throw new CommandUsageError(problem);
    const takesValue = token.startsWith('--') && !token.includes('=') && options[token.slice(2)]?.type === 'string';
    args.push(takesValue ? `${token}=${argv[++index] ?? ''}` : token);
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as Parsed<T>;
  } catch (error) {
    // Anything our checks above did not foresee: parseArgs' first sentence only.
    const message = error instanceof Error ? (error.message.split(/(?<=\.)\s/)[0] ?? error.message) : String(error);
    throw new CommandUsageError(message.replace(/\.$/, ''));
  }
}

/**
 * Flags `npm run` took for itself because they came before `--` (`npm run conversations list --json` hands npm the
 * `--json`): npm then sets `npm_config_<flag>=true` in the script's environment and passes a later value on as a
 * positional. A swallowed `--local` leaves no trace, so the AWS-target errors carry a hint as well (npmRunHint).
 */
export function flagsTakenByNpm(env: NodeJS.ProcessEnv, options: FlagOptions): string[] {
  if (env.npm_lifecycle_event === undefined) return [];
  return Object.keys(options).filter((name) => env[`npm_config_${name.replaceAll('-', '_')}`] === 'true');
}

/** Under `npm run`, a reminder that flags belong after `--`; '' otherwise. */
export function npmRunHint(env: NodeJS.ProcessEnv): string {
  const script = env.npm_lifecycle_event;
  return script === undefined ? '' : ` (with npm run, flags go after --: \`npm run ${script} -- …\`, or use \`npx elevenlabs-conversations …\`)`;
}

/** Throws when `npm run` swallowed some of this command's flags, naming them. */
export function refuseFlagsTakenByNpm(env: NodeJS.ProcessEnv, options: FlagOptions): void {
  const taken = flagsTakenByNpm(env, options);
  if (taken.length === 0) return;
  const script = env.npm_lifecycle_event ?? '';
  throw new CommandUsageError(
    `npm took ${taken.map((name) => `--${name}`).join(', ')} for itself: put the command's flags after -- (\`npm run ${script} -- …\`), or use \`npx elevenlabs-conversations …\``,
  );
}

/** The one way a usage error is printed: a single line on stderr pointing at --help. Returns the exit code (1). */
export function reportUsageError(io: CommandIo, error: unknown, command: string): number {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error: ${message} (see ${command} --help)\n`);
  return 1;
}
