/**
 * The pipeline-load benchmark's second process: the local pipeline as `npm start --in-memory` runs it (handlers
 * silent), started on free ports, so the load generator in the bench's own process does not share its event loop.
 * Talks to its parent over the fork IPC channel: it sends `ready` (endpoints, webhook secret), answers `cpu` with
 * the process's CPU time so far (all its threads), and stops on `stop`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalEndpoints } from '../local/endpoints.js';
import { startLocalPipeline } from '../local/pipeline.js';

export type PipelineProcessMessage =
  | { readonly type: 'ready'; readonly endpoints: LocalEndpoints; readonly webhookSecret: string }
  | { readonly type: 'cpu'; readonly cpuMs: number };

export type PipelineProcessCommand = { readonly type: 'cpu' } | { readonly type: 'stop' };

function send(message: PipelineProcessMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-pipeline-'));
  const pipeline = await startLocalPipeline({ dataDir, port: 0, inMemory: true, env: {}, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1 });
  const stop = async () => {
    await pipeline.stop();
    await rm(dataDir, { recursive: true, force: true });
    process.disconnect?.();
  };
  process.on('message', (command: PipelineProcessCommand) => {
    if (command.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', cpuMs: (user + system) / 1000 });
    } else if (command.type === 'stop') {
      stop().catch((error: unknown) => {
        process.stderr.write(`stopping the pipeline failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
        process.disconnect?.();
      });
    }
  });
  // The parent went away without a stop: nothing is kept (in memory), so just end.
  process.on('disconnect', () => void pipeline.stop().finally(() => process.exit(process.exitCode ?? 0)));
  send({ type: 'ready', endpoints: pipeline.endpoints, webhookSecret: pipeline.webhookSecret.secret });
}

main().catch((error: unknown) => {
  process.stderr.write(`the benchmark's pipeline did not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
