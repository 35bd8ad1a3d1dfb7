/**
 * What a command needs from its process, passed in so tests can run commands in-process: arguments are given
 * separately; output streams and the environment come from here.
 */
export interface CommandStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string | Uint8Array): boolean;
}

export interface CommandIo {
  readonly stdout: CommandStream;
  readonly stderr: CommandStream;
  readonly env: NodeJS.ProcessEnv;
}

/** The running process's streams and environment. */
export function processIo(): CommandIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A problem with the command line (exit code 1), in every command: printed with a pointer to --help or the usage text. */
export class CommandUsageError extends Error {
  override readonly name = 'CommandUsageError';
}

/**
 * Text from stored data made safe for a terminal: control characters (which could move the cursor, change colours or
 * rewrite earlier output) become spaces.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}
