/**
 * The local pipeline's ports, derived from PORT so they are the same on every start (the AWS CLI and the other
 * command-line tools can be pointed at them): webhook PORT, DynamoDB PORT+1, SQS/S3 PORT+2, Secrets Manager PORT+3.
 * PORT=0 picks free ports for all of them (tests).
 */
import type { AddressInfo, Server } from 'node:net';

export interface LocalPorts {
  readonly webhook: number;
  readonly dynamodb: number;
  readonly sqsS3: number;
  readonly secretsManager: number;
}

export const PORT_OFFSETS = { webhook: 0, dynamodb: 1, sqsS3: 2, secretsManager: 3 } as const;

/** The ports for a base port; 0 means "any free port" for each. */
export function portsFor(basePort: number): LocalPorts {
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + PORT_OFFSETS.secretsManager > 65_535) {
    throw new RangeError(`PORT must be 0, or a port number up to ${65_535 - PORT_OFFSETS.secretsManager} (the pipeline uses PORT to PORT+3), got ${basePort}`);
  }
  if (basePort === 0) return { webhook: 0, dynamodb: 0, sqsS3: 0, secretsManager: 0 };
  return {
    webhook: basePort + PORT_OFFSETS.webhook,
    dynamodb: basePort + PORT_OFFSETS.dynamodb,
    sqsS3: basePort + PORT_OFFSETS.sqsS3,
    secretsManager: basePort + PORT_OFFSETS.secretsManager,
  };
}

/** Whether an error is "address already in use", to name the port and its likely owner. */
export function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

/** Starts `server` on 127.0.0.1 (never another interface) and resolves with the port it got (`port` 0 = a free one). */
export async function listenOnLoopback(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
