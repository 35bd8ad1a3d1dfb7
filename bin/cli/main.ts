/**
 * `elevenlabs-conversations <subcommand> …`: finds the subcommand in SUBCOMMANDS, loads it and runs it. Results go to
 * stdout (pipe-clean with --json); errors, hints and progress to stderr.
 */
import { didYouMean } from '../../lambdas/core/closest-match.js';
import { type CommandIo } from './io.js';
import { SUBCOMMANDS, type SubcommandName } from './subcommands.js';

export const PROGRAM = 'elevenlabs-conversations';

/** The overview: every subcommand and its summary. */
export function overview(): string {
  const names = Object.keys(SUBCOMMANDS) as SubcommandName[];
  const width = Math.max(...names.map((name) => name.length));
  return [
    `Usage: ${PROGRAM} <subcommand> [options]        (npx ${PROGRAM} … in this repository)`,
    '',
    'Subcommands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${SUBCOMMANDS[name].summary}`),
    '',
    `\`${PROGRAM} <subcommand> --help\` shows a subcommand's options. The npm scripts are aliases:`,
    '`npm run conversations -- <get|list|export|audio> …`, `npm run send-webhook -- …`, `npm run backfill -- …`,',
    '`npm run viewer -- …`, `npm run doctor -- …`, `npm run sql -- …`',
    '(use `npm run --silent …` when piping: npm prints its own header on stdout otherwise).',
  ].join('\n');
}

function isSubcommand(name: string): name is SubcommandName {
  return Object.hasOwn(SUBCOMMANDS, name);
}

/** Runs `argv` (the arguments after the program name); returns the exit code. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    (first === undefined ? io.stderr : io.stdout).write(`${overview()}\n`);
    return first === undefined ? 1 : 0;
  }
  // `help get` is `get --help`.
  const [name, args] = first === 'help' ? [rest[0] ?? '', ['--help']] : [first, rest];
  if (!isSubcommand(name)) {
    const hint = name.startsWith('-') ? '; the subcommand comes first' : didYouMean(name, Object.keys(SUBCOMMANDS));
    io.stderr.write(`error: unknown subcommand "${name}"${hint} (see ${PROGRAM} --help)\n`);
    return 1;
  }
  const run = await SUBCOMMANDS[name].load();
  return run(args, io);
}
