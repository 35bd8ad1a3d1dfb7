/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of an emulator (fauxqs, dynalite): the SDK clients under test
 * talk to the proxy, which forwards each call or, as its policy decides, answers with the error AWS would send
 * (throttling, 5xx), drops the connection, or forwards the call and then drops the answer — the write happened but
 * the caller cannot know. Faults therefore cross the real wire protocol, the SDK's retries and error parsing included.
 */
import { createServer, request as forward, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One call as the proxy sees it; `operation` names the AWS operation where it can tell. */
export interface ProxiedCall {
  readonly method: string;
  readonly path: string;
  /** `PutItem`, `SendMessage` (JSON protocols' X-Amz-Target), or `PUT`/`GET`/… plus `object` for S3 object calls. */
  readonly operation: string;
}

export type Fault =
  | { readonly kind: 'pass' }
  /** Answer without forwarding. */
  | { readonly kind: 'error'; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string }
  /** Drop the connection without forwarding. */
  | { readonly kind: 'reset' }
  /** Forward (the emulator applies the call), then drop the connection instead of answering. */
  | { readonly kind: 'lose-answer' };

export type FaultPolicy = (call: ProxiedCall) => Fault;

export interface FaultProxy {
  readonly endpoint: string;
  readonly port: number;
  /** Replaces the policy (the default passes everything). */
  setPolicy(policy: FaultPolicy): void;
  /** Calls seen and faults injected, by `operation` and fault kind, since the last reset. */
  readonly counts: { calls: Map<string, number>; faults: Map<string, number> };
  /** Faults injected for one operation (all kinds but `pass`). */
  faultsFor(operation: string): number;
  resetCounts(): void;
  stop(): Promise<void>;
}

export const PASS: Fault = { kind: 'pass' };

/** DynamoDB's throttling answer (JSON 1.0 protocol); the SDK retries it with backoff. */
export function dynamoDbThrottling(): Fault {
  return awsJsonError(400, 'ProvisionedThroughputExceededException', 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException');
}

/** SQS's internal error (JSON protocol); retryable. */
export function sqsInternalError(): Fault {
  return awsJsonError(500, 'InternalError', 'com.amazonaws.sqs#InternalError', { 'x-amzn-query-error': 'InternalError;Receiver' });
}

/** S3's SlowDown (REST-XML protocol); retryable. */
export function s3SlowDown(): Fault {
  return {
    kind: 'error',
    status: 503,
    headers: { 'content-type': 'application/xml' },
    body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected).</Message><RequestId>FAULT</RequestId></Error>',
  };
}

function awsJsonError(status: number, errorType: string, qualifiedType: string, extraHeaders: Record<string, string> = {}): Fault {
  return {
    kind: 'error',
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': errorType, ...extraHeaders },
    body: JSON.stringify({ __type: qualifiedType, message: 'injected fault' }),
  };
}

function operationOf(method: string, path: string, headers: IncomingHttpHeaders): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  // S3 path style: /bucket or /bucket/key…
  const segments = path.split('?')[0]?.split('/').filter((segment) => segment !== '') ?? [];
  return `${method} ${segments.length > 1 ? 'object' : 'bucket'}`;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Starts a proxy to `target` (an `http://127.0.0.1:<port>` endpoint). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let policy: FaultPolicy = () => PASS;
  const counts = { calls: new Map<string, number>(), faults: new Map<string, number>() };
  const sockets = new Set<Socket>();

  const relay = (incoming: IncomingMessage, body: Buffer, answer: ServerResponse, loseAnswer: boolean) => {
    const outgoing = forward(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (loseAnswer) {
            answer.socket?.destroy();
            return;
          }
          answer.writeHead(response.statusCode ?? 502, response.headers);
          answer.end(Buffer.concat(chunks));
        });
      },
    );
    outgoing.on('error', () => answer.socket?.destroy());
    outgoing.end(body);
  };

  const server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const method = incoming.method ?? 'GET';
      const path = incoming.url ?? '/';
      const operation = operationOf(method, path, incoming.headers);
      increment(counts.calls, operation);
      const fault = policy({ method, path, operation });
      if (fault.kind !== 'pass') increment(counts.faults, `${operation}:${fault.kind}`);
      switch (fault.kind) {
        case 'pass':
          return relay(incoming, Buffer.concat(chunks), answer, false);
        case 'lose-answer':
          return relay(incoming, Buffer.concat(chunks), answer, true);
        case 'reset':
          return incoming.socket.destroy();
        case 'error':
          answer.writeHead(fault.status, { ...fault.headers, 'content-length': String(Buffer.byteLength(fault.body)) });
          return answer.end(fault.body);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts,
    setPolicy(next) {
      policy = next;
    },
    faultsFor(operation) {
      let total = 0;
      for (const [key, value] of counts.faults) if (key.startsWith(`${operation}:`)) total += value;
      return total;
    },
    resetCounts() {
      counts.calls.clear();
      counts.faults.clear();
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
