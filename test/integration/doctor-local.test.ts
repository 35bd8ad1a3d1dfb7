/**
 * Webhook health and `doctor --local` on the local pipeline against the fake ElevenLabs API: a healthy fake gives
 * exit 0; a webhook ElevenLabs auto-disables is logged by the local poller within one poll interval (with its EMF
 * WebhookHealthy 0) and makes `npx elevenlabs-conversations doctor --local --json` (spawned) exit 2 with a failing
 * webhook check; `--re-enable` changes it back and says so; a key without convai_read is named; and our side's
 * failures (no key, a dead letter, no pipeline) each have their line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../bin/cli/doctor-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import type { FakeWebhook } from '../../bin/local/fake-elevenlabs-workspace.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { captureOutput, type CapturedOutput } from '../fixtures/output-capture.js';
import { startLocalPipelineStandIn } from '../support/local-pipeline-stand-in.js';
import { waitUntil } from '../support/wait-until.js';

const REPO = join(import.meta.dirname, '../..');
const POLL_INTERVAL_SECS = 2;

let dataDir: string;
let fake: FakeElevenLabsApi;
let pipeline: LocalPipeline;
let output: CapturedOutput;
let webhook: FakeWebhook;

interface Report {
  readonly code: number;
  readonly checks: Array<{ id: string; status: string; message: string; fix: string }>;
  readonly changes?: Array<{ action: string; done: boolean; message: string }>;
  readonly stderr: string;
}

/** `doctor` in this process with the given arguments and environment; the report parsed from --json. */
async function doctor(args: string[], env: NodeJS.ProcessEnv = doctorEnv()): Promise<Report> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { write: (chunk) => ((stderr += chunk.toString()), true) }, env };
  const code = await runDoctor([...args, '--json'], io);
  return { code, stderr, ...(stdout === '' ? { checks: [] } : (JSON.parse(stdout) as Omit<Report, 'code' | 'stderr'>)) };
}

const doctorEnv = (): NodeJS.ProcessEnv => ({ ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: fake.url, LOCAL_DATA_DIR: dataDir });
const status = (report: Report, id: string) => report.checks.find((check) => check.id === id);

/** The poller's log lines with this message, written at or after `sinceMs`. */
function pollerLines(message: string, sinceMs: number): Array<Record<string, unknown>> {
  return output.jsonLines().filter((line) => line.message === message && line.service === 'poller' && Date.parse(String(line.timestamp)) >= sinceMs);
}

/** Polls `probe` every 50 ms for up to `timeoutMs`. */
const waitFor = <T>(what: string, timeoutMs: number, probe: () => T | undefined) => waitUntil(what, Date.now() + timeoutMs, probe, 50);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'doctor-local-'));
  fake = await startFakeElevenLabsApi({ count: 6, seed: 21 });
  output = captureOutput({ emitMetrics: true });
  pipeline = await startLocalPipeline({
    dataDir,
    port: 0,
    env: { ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: fake.url, POLL_INTERVAL: String(POLL_INTERVAL_SECS) },
    handlerLogLevel: 'WARN',
    handlerMetrics: 'emf',
    receiveWaitTimeSeconds: 1,
  });
  // What an operator sets up in ElevenLabs for this pipeline (through a tunnel, in real life), retries on.
  webhook = fake.workspace.connectPostCallWebhook(pipeline.endpoints.webhookUrl, { retry_enabled: true });
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  output?.restore();
  await fake?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('doctor --local on a healthy fake', () => {
  it('exits 0 with every check ok, on both sides', async () => {
    // Act
    const report = await doctor(['--local']);

    // Assess
    expect(report.checks.filter((check) => check.status !== 'ok')).toEqual([]);
    expect(report.checks.map((check) => check.id)).toEqual(expect.arrayContaining(['webhook-enabled', 'webhook-retries', 'api-key-agents', 'webhook-secret', 'poller', 'dead-letter-queue']));
    expect(report.code).toBe(0);
  });
});

describe('a webhook ElevenLabs auto-disables', () => {
  it('is logged by the local poller within one poll interval, as WebhookHealthy 0, and fails doctor --local --json (exit 2)', async () => {
    // Prepare: the pipeline's poller has been seeing a healthy webhook
    await waitFor('a healthy WebhookHealthy', 10_000, () => output.metrics().find((metric) => metric.name === 'WebhookHealthy' && metric.value === 1));

    // Act
    const markedAt = Date.now();
    fake.workspace.updateWebhook(webhook.webhook_id, { is_auto_disabled: true, most_recent_failure_error_code: 500, most_recent_failure_timestamp: Math.floor(markedAt / 1000) - 120 });
    const [line] = await waitFor('the poller logging the unhealthy webhook', 10_000, () => {
      const lines = pollerLines('webhook unhealthy', markedAt);
      return lines.length > 0 ? lines : undefined;
    });
    const loggedAfterMs = Date.parse(String(line?.timestamp)) - markedAt;
    const spawned = await promisify(execFile)('npx', ['elevenlabs-conversations', 'doctor', '--local', '--json'], { cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...doctorEnv() } }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );

    // Assess
    expect(line).toMatchObject({ level: 'WARN', problems: ['auto_disabled'], webhook_id: webhook.webhook_id, most_recent_failure_error_code: 500 });
    expect(loggedAfterMs).toBeLessThanOrEqual(POLL_INTERVAL_SECS * 1000 + 1000);
    expect(output.metrics()).toContainEqual(expect.objectContaining({ name: 'WebhookHealthy', value: 0, dimensions: expect.objectContaining({ service: 'poller' }) }));
    expect(spawned.code).toBe(2);
    const report = JSON.parse(spawned.stdout) as Omit<Report, 'code' | 'stderr'>;
    expect(report.checks.find((check) => check.id === 'webhook-enabled')).toMatchObject({ status: 'fail', message: expect.stringContaining('switched it off after repeated failures'), fix: expect.stringContaining('--re-enable') });
    expect(report.checks.find((check) => check.id === 'webhook-failures')).toMatchObject({ status: 'warn', message: expect.stringContaining('HTTP 500') });
  });

  it('is re-enabled by doctor --re-enable, which says so, and the next poll finds it healthy', async () => {
    // Prepare
    const healthyReports = () => output.metrics().filter((metric) => metric.name === 'WebhookHealthy' && metric.value === 1).length;
    const before = healthyReports();

    // Act
    const report = await doctor(['--local', '--re-enable']);
    await waitFor('WebhookHealthy 1 again', 10_000, () => (healthyReports() > before ? true : undefined));

    // Assess
    expect(report.changes).toEqual([{ action: 're-enable', webhook_id: webhook.webhook_id, done: true, message: `re-enabled webhook "${webhook.name}" (${webhook.webhook_id})` }]);
    expect(status(report, 'webhook-enabled')?.status).toBe('ok');
    expect(fake.workspace.webhook(webhook.webhook_id)).toMatchObject({ is_disabled: false, is_auto_disabled: false, name: webhook.name });
    expect(fake.requests.filter((request) => request.route === 'webhook-update')).toHaveLength(1);
  });

  it('changes nothing without --re-enable or --fix-retries', async () => {
    // Prepare
    fake.workspace.updateWebhook(webhook.webhook_id, { is_disabled: true, retry_enabled: false });
    const updatesBefore = fake.calls['webhook-update'];

    // Act
    const report = await doctor(['--local']);

    // Assess
    expect(fake.calls['webhook-update']).toBe(updatesBefore);
    expect(report.changes).toBeUndefined();
    expect(status(report, 'webhook-enabled')?.status).toBe('fail');
    expect(status(report, 'webhook-retries')).toMatchObject({ status: 'warn', fix: expect.stringContaining('--fix-retries') });

    // Cleanup: both fixes at once, one PATCH
    const fixed = await doctor(['--local', '--re-enable', '--fix-retries']);
    expect(fixed.changes?.map((change) => [change.action, change.done])).toEqual([
      ['re-enable', true],
      ['enable-retries', true],
    ]);
    expect(fake.calls['webhook-update']).toBe(updatesBefore + 1);
    fake.workspace.updateWebhook(webhook.webhook_id, { most_recent_failure_timestamp: undefined, most_recent_failure_error_code: undefined });
  });
});

describe('a webhook check the key may not make', () => {
  it('is logged with the permission and counted in WebhookCheckFailed, and the poller reconciles all the same', async () => {
    // Prepare: a key that reads conversations but not the workspace webhooks
    const since = Date.now();
    const firstRequest = fake.requests.length;
    fake.workspace.setKeyPermissions(['convai_read']);
    /** A list call answered after a refused webhooks call: the same run went on to reconcile. */
    const listedAfterRefusal = () => {
      const requests = fake.requests.slice(firstRequest);
      const refused = requests.findIndex((request) => request.route === 'webhooks' && request.status === 401);
      return refused >= 0 && requests.slice(refused).some((request) => request.route === 'list' && request.status === 200);
    };

    // Act
    // The run's metrics are flushed when it ends, after its listing.
    const checkFailedCounted = () => output.metrics().some((metric) => metric.name === 'WebhookCheckFailed' && metric.value === 1);
    const [line] = await waitFor('the failed check, the listing and the run\'s metrics', 10_000, () => {
      const lines = pollerLines('webhook check failed', since);
      return lines.length > 0 && listedAfterRefusal() && checkFailedCounted() ? lines : undefined;
    }).finally(() => fake.workspace.setKeyPermissions(undefined));

    // Assess
    expect(line).toMatchObject({ level: 'WARN', errorName: 'ElevenLabsAuthError', status: 401, code: 'missing_permissions', permission: 'workspace_read' });
    expect(pollerLines('poll failed', since)).toEqual([]);
  });
});

describe('doctor --local, when something on either side is wrong', () => {
  it('names convai_read when the key lacks it, and still checks what the key may read', async () => {
    // Prepare
    fake.workspace.setKeyPermissions(['workspace_read', 'workspace_write']);

    // Act
    const report = await doctor(['--local']).finally(() => fake.workspace.setKeyPermissions(undefined));

    // Assess
    expect(status(report, 'api-key')).toMatchObject({ status: 'fail', message: expect.stringContaining('lacks the permission convai_read'), fix: expect.stringContaining('convai_read') });
    expect(status(report, 'webhook-exists')?.status).toBe('ok');
    expect(report.code).toBe(2);
  });

  it('says a dead letter is waiting', async () => {
    // Prepare
    const sqs = new SQSClient({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: emulatorRegion, credentials: emulatorCredentials });
    await sqs.send(new SendMessageCommand({ QueueUrl: pipeline.endpoints.deadLetterQueueUrl, MessageBody: 'poison' }));
    sqs.destroy();

    // Act
    const report = await doctor(['--local']);

    // Assess
    expect(status(report, 'dead-letter-queue')).toMatchObject({ status: 'fail', message: expect.stringContaining('1 event(s) in the dead-letter queue') });
  });

  it('without ELEVENLABS_API_KEY says so and cannot check the ElevenLabs side: exit 1', async () => {
    // Act
    const report = await doctor(['--local'], { LOCAL_DATA_DIR: dataDir });

    // Assess
    expect(status(report, 'api-key-secret')).toMatchObject({ status: 'fail', message: expect.stringContaining('ELEVENLABS_API_KEY is not set') });
    expect(status(report, 'webhook-enabled')).toMatchObject({ status: 'fail', message: expect.stringContaining('not checked: no ElevenLabs API key') });
    expect(report.code).toBe(1);
  });

  it('against a pipeline without poller or secret, fails those lines', async () => {
    // Prepare: what `npm start` without a key leaves, in another data dir
    const otherDir = await mkdtemp(join(tmpdir(), 'doctor-local-bare-'));
    const standIn = await startLocalPipelineStandIn(otherDir);

    // Act
    const report = await doctor(['--local'], { ...doctorEnv(), LOCAL_DATA_DIR: otherDir }).finally(async () => {
      await standIn.stop();
      await rm(otherDir, { recursive: true, force: true });
    });

    // Assess
    expect(status(report, 'poller')).toMatchObject({ status: 'fail', message: expect.stringContaining('the local poller is off') });
    expect(status(report, 'webhook-secret')).toMatchObject({ status: 'fail', message: expect.stringContaining('no webhook secret') });
    expect(status(report, 'webhook-exists')).toMatchObject({ status: 'fail', message: expect.stringContaining('no webhook points at http://127.0.0.1:1/webhooks/elevenlabs') });
  });

  it('without a running pipeline cannot check anything: exit 1 and a clear line', async () => {
    // Act
    const report = await doctor(['--local'], { ...doctorEnv(), LOCAL_DATA_DIR: join(dataDir, 'nothing-here') });

    // Assess
    expect(report.code).toBe(1);
    expect(report.stderr).toMatch(/^error: could not check: No local pipeline found in .*nothing-here/);
  });
});
