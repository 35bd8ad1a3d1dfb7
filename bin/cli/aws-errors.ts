/**
 * AWS SDK errors turned into one line a person can act on: which resource, where, and what to check. The SDK's own
 * text ("Region is missing", "UnknownError") names neither.
 */

/** An AWS call failed, and the message already says, in words, which resource and what to check. */
export class AwsAccessError extends Error {
  override readonly name = 'AwsAccessError';
}

export type AwsResourceKind = 'table' | 'bucket' | 'queue' | 'secret';

/** A resource a command uses, and the flags that name it (for "check …"). */
export interface AwsResourceRef {
  readonly name: string;
  /** e.g. "--table and --region", or "--stack and --region" when the name came from the stack's outputs. */
  readonly check?: string;
}

export interface AwsErrorContext {
  /** How to name the target in messages: "the local pipeline" or "region eu-west-1". */
  readonly where?: string;
  readonly local?: boolean;
  /** The resources the failing call may have been about, by kind. */
  readonly resources?: Partial<Record<AwsResourceKind, AwsResourceRef>>;
}

const NOT_FOUND: Record<string, AwsResourceKind[]> = {
  ResourceNotFoundException: ['table', 'secret', 'queue'],
  NoSuchBucket: ['bucket'],
  NotFound: ['bucket'],
  'AWS.SimpleQueueService.NonExistentQueue': ['queue'],
  QueueDoesNotExist: ['queue'],
};

const REJECTED_CREDENTIALS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'ExpiredToken', 'InvalidClientTokenId', 'SignatureDoesNotMatch']);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'Forbidden', 'AuthorizationError']);

function errorCode(error: Error): string | undefined {
  return (error as NodeJS.ErrnoException).code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code;
}

function notFound(kinds: readonly AwsResourceKind[], context: AwsErrorContext, error: Error): string {
  const kind = kinds.find((candidate) => context.resources?.[candidate] !== undefined);
  const resource = kind === undefined ? undefined : context.resources?.[kind];
  if (kind === undefined || resource === undefined) return `not found: ${error.message}`;
  const where = context.where === undefined ? '' : ` in ${context.where}`;
  return `${kind} ${resource.name} not found${where}${context.local !== true && resource.check !== undefined ? ` (check ${resource.check})` : ''}`;
}

/**
 * A one-line explanation of an AWS SDK error, naming the resource and what to do; undefined for errors that are not
 * the SDK's (the caller prints those as they are).
 */
export function explainAwsError(error: unknown, context: AwsErrorContext = {}): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const where = context.where === undefined ? '' : ` in ${context.where}`;
  const kinds = NOT_FOUND[error.name];
  if (kinds !== undefined) return notFound(kinds, context, error);
  if (error.name === 'NoSuchKey') return `the record points to an object missing from bucket ${context.resources?.bucket?.name ?? ''} (the transcript or audio file was deleted?)`;
  if (error.name === 'CredentialsProviderError') return 'no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile, or use --local';
  if (REJECTED_CREDENTIALS.has(error.name)) return `AWS rejected the credentials (${error.name}); refresh them (e.g. \`aws sso login\`) and try again`;
  // AWS's text names the identity, the action and the resource, never a payload: worth showing.
  if (DENIED.has(error.name)) return `access denied${where}: ${error.message}`;
  if (/region is missing/i.test(error.message)) return 'no AWS region: pass --region or set AWS_REGION';
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') return context.local === true ? 'the local pipeline is not answering; is `npm start` still running?' : `could not connect (${error.message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `could not reach AWS (${error.message}); check the network and --region`;
  return undefined;
}
