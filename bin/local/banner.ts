/**
 * What `npm start` prints once it is ready: where everything listens, ready-to-paste commands, and — only when it
 * was generated just now — the local webhook secret (the developer's own local secret, shown once).
 * Never a transcript, a payload or an API key.
 */
import { relative } from 'node:path';
import type { LocalPipeline } from './pipeline.js';
import type { DeliveryReport, SampleAccount } from './sample-account.js';

export interface BannerOptions {
  readonly pipeline: LocalPipeline;
  readonly dataDir: string;
  readonly inMemory: boolean;
  readonly startupMs: number;
  /** PORT and LOCAL_DATA_DIR as the user set them, so pasted commands reach this pipeline. */
  readonly env: NodeJS.ProcessEnv;
  /** With `--fake-elevenlabs`: the sample account the poller reads, and how delivering its webhooks went. */
  readonly sampleAccount?: { readonly account: SampleAccount; readonly report: DeliveryReport };
}

function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere !== '' && !fromHere.startsWith('..') ? fromHere : path;
}

/** The variables a command in another terminal needs to find this pipeline (only those the user changed). */
export function commandPrefix(env: NodeJS.ProcessEnv): string {
  const parts: string[] = [];
  if (env.PORT !== undefined && env.PORT !== '' && env.PORT !== '3000') parts.push(`PORT=${env.PORT}`);
  if (env.LOCAL_DATA_DIR !== undefined && env.LOCAL_DATA_DIR !== '' && env.LOCAL_DATA_DIR !== '.data') parts.push(`LOCAL_DATA_DIR=${shellQuote(env.LOCAL_DATA_DIR)}`);
  return parts.length === 0 ? '' : `${parts.join(' ')} `;
}

function shellQuote(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** What `--fake-elevenlabs` did: which conversations' webhooks were delivered, and which the poller is to heal. */
function sampleAccountLines({ account, report }: NonNullable<BannerOptions['sampleAccount']>, pollIntervalSecs: number): string[] {
  const ids = (conversations: SampleAccount['delivered']) => conversations.map((conversation) => conversation.conversationId).join(', ');
  const outcome =
    report.accepted === report.sent && report.stored
      ? `${report.sent} requests, all stored`
      : `${report.accepted} of ${report.sent} requests answered 200${report.stored ? '' : '; not all stored yet, so the poller may back-fill some of them too'}`;
  const total = account.delivered.length + account.missed.length;
  return [
    `  ElevenLabs fake API (no API key needed): ${total} sample conversations of ${account.agentCount} agent(s), all ended minutes ago`,
    `             webhooks delivered (${outcome}): ${ids(account.delivered)}`,
    `             webhooks that never arrived: ${ids(account.missed)}`,
    `             the poller's first run is back-filling these now (${account.missed.length} transcripts, ${account.missed.filter((conversation) => conversation.hasAudio).length} recordings); it then runs every ${pollIntervalSecs} s`,
  ];
}

export function startupBanner({ pipeline, dataDir, inMemory, startupMs, env, sampleAccount }: BannerOptions): string {
  const { endpoints, webhookSecret, poller, restored } = pipeline;
  const prefix = commandPrefix(env);
  const awsCli = 'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws';
  // --region rather than AWS_REGION: AWS CLI v1 reads only AWS_DEFAULT_REGION.
  const target = (endpoint: string) => `--endpoint-url ${endpoint} --region ${endpoints.region}`;
  const lines = [
    `Local pipeline ready in ${Math.round(startupMs)} ms — ${inMemory ? 'in memory: nothing is kept when it stops' : `data kept in ${displayPath(dataDir)}`}`,
    '',
    `  Webhook    POST ${endpoints.webhookUrl}`,
    `  DynamoDB   ${endpoints.dynamodbEndpoint}   tables ${endpoints.tableName}, ${endpoints.stateTableName}`,
    `             ${awsCli} dynamodb scan --table-name ${endpoints.tableName} --select COUNT ${target(endpoints.dynamodbEndpoint)}`,
    `  SQS + S3   ${endpoints.sqsS3Endpoint}   queue ingest (dead letters: ingest-dlq), bucket ${endpoints.bucketName}`,
    `             ${awsCli} s3 ls s3://${endpoints.bucketName} --recursive ${target(endpoints.sqsS3Endpoint)}`,
    `             ${awsCli} sqs get-queue-attributes --queue-url ${endpoints.deadLetterQueueUrl} --attribute-names ApproximateNumberOfMessages ${target(endpoints.sqsS3Endpoint)}`,
    `  Secrets    ${endpoints.secretsManagerEndpoint ?? '-'}   Secrets Manager stand-in (GetSecretValue, for the pipeline's own handlers only)`,
    `  Events     ${displayPath(pipeline.changes.eventsFile)}${pipeline.changes.forwardEventsUrl === undefined ? '' : ` and POST ${pipeline.changes.forwardEventsUrl}`}   (one change event per line, as put on EventBridge)`,
    `  Dataset    s3://${endpoints.bucketName}/analytics/ (Parquet by start day)   ${prefix}npx elevenlabs-conversations sql --local --query conversations-per-agent-per-day`,
    `  Poller     ${poller.enabled ? `every ${poller.intervalSecs} s against ${env.ELEVENLABS_API_BASE_URL ?? 'https://api.elevenlabs.io'}` : 'off (set ELEVENLABS_API_KEY to back-fill from the ElevenLabs API)'}`,
    ...(sampleAccount === undefined ? [] : sampleAccountLines(sampleAccount, poller.intervalSecs)),
  ];
  if (restored.objects > 0 || restored.queuedMessages > 0) {
    lines.push('', `Restored ${restored.objects} S3 object(s) and ${restored.queuedMessages} queued message(s) from the data dir.`);
  }
  for (const warning of restored.warnings) lines.push(`warning: ${warning}`);

  lines.push('');
  if (webhookSecret.source === 'generated') {
    lines.push(
      `Webhook secret (generated for local development, kept in ${displayPath(webhookSecret.path)}; shown this once):`,
      `  ${webhookSecret.secret}`,
    );
  } else if (webhookSecret.source === 'data-dir') {
    lines.push(`Webhook secret: the one kept in ${displayPath(webhookSecret.path)} (send-webhook reads it from there).`);
  } else {
    lines.push('Webhook secret: from ELEVENLABS_WEBHOOK_SECRET (send-webhook needs the same variable, or --secret).');
  }
  lines.push(
    '',
    'Try it (in another terminal):',
    `  ${prefix}npm run send-webhook -- --sample transcription --new-id`,
    `  ${prefix}npm run conversations -- list --local`,
    ...(sampleAccount?.account.missed[0] === undefined ? [] : [`  ${prefix}npm run conversations -- get ${sampleAccount.account.missed[0].conversationId} --local   # one the poller back-filled`]),
    '',
    'Ctrl-C stops it (queued messages and objects are saved first).',
  );
  return lines.join('\n');
}
