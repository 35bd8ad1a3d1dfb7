/**
 * A stand-in for Secrets Manager's `GetSecretValue` (and nothing else), so the handlers read their secrets locally
 * exactly as in AWS: Powertools `getSecret` → SDK → `AWS_ENDPOINT_URL_SECRETS_MANAGER` → here.
 *
 * It listens on 127.0.0.1 and answers only requests signed with the access key id the pipeline gave its handlers,
 * a random value per run, so other local users cannot read the secrets through it. Values are never logged.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './ports.js';
import { readRequestBody } from './request-body.js';

export interface LocalSecretsManager {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface LocalSecretsManagerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Secret id → SecretString. */
  readonly secrets: ReadonlyMap<string, string>;
  /** Only SigV4 requests whose credential names this access key id are answered. */
  readonly accessKeyId: string;
  readonly region: string;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 64 * 1024;

function sendJson(response: ServerResponse, statusCode: number, body: Record<string, unknown>, errorType?: string): void {
  response.writeHead(statusCode, { 'content-type': JSON_CONTENT_TYPE, ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }) });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, statusCode: number, type: string, message: string): void {
  sendJson(response, statusCode, { __type: type, message }, type);
}

/** The access key id of a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 Credential=<id>/<date>/…`). */
function signingAccessKeyId(request: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(request.headers.authorization ?? '')?.[1];
}

/** Starts the stand-in on 127.0.0.1. */
export async function startLocalSecretsManager(options: LocalSecretsManagerOptions): Promise<LocalSecretsManager> {
  const versionId = randomUUID();
  const createdDate = Math.floor(Date.now() / 1000);

  const server = createServer((request, response) => {
    void (async () => {
      if (request.method !== 'POST') return sendError(response, 404, 'UnknownOperationException', 'only POST / is served');
      if (signingAccessKeyId(request) !== options.accessKeyId) {
        return sendError(response, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      }
      const target = request.headers['x-amz-target'];
      if (target !== 'secretsmanager.GetSecretValue') {
        return sendError(response, 400, 'UnknownOperationException', `the local stand-in serves only GetSecretValue, not ${String(target)}`);
      }
      const text = (await readRequestBody(request, MAX_REQUEST_BYTES))?.toString('utf8');
      let secretId: unknown;
      try {
        secretId = (JSON.parse(text ?? '') as { SecretId?: unknown }).SecretId;
      } catch {
        secretId = undefined;
      }
      if (typeof secretId !== 'string' || secretId === '') return sendError(response, 400, 'InvalidParameterException', 'SecretId is required');
      const value = options.secrets.get(secretId);
      if (value === undefined) return sendError(response, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      sendJson(response, 200, {
        ARN: `arn:aws:secretsmanager:${options.region}:000000000000:secret:${secretId}`,
        Name: secretId,
        VersionId: versionId,
        SecretString: value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: createdDate,
      });
    })().catch(() => {
      if (!response.headersSent) sendError(response, 500, 'InternalServiceError', 'the local secrets stand-in failed');
      else response.destroy();
    });
  });

  const port = await listenOnLoopback(server, options.port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
