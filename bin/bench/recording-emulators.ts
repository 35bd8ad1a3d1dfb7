/**
 * The other process of the recording-backfill benchmark: dynalite, fauxqs (which keeps every object in memory, so it
 * must not share the measured process) and the fake ElevenLabs API with one conversation per recording size asked
 * for. Prints one JSON line saying where everything is, then runs until its stdin closes.
 *
 * Run by bin/bench/recording-backfill.ts only: `node [tsx loader] recording-emulators.ts <bytes> [<bytes> …]`.
 */
import { FAKE_API_KEY, startFakeElevenLabsApi } from '../local/fake-elevenlabs-api.js';
import { startBenchAws } from './harness.js';

/** What the benchmark needs to reach the emulators and check the result. */
export interface RecordingEmulators {
  readonly dynamodbEndpoint: string;
  readonly sqsS3Endpoint: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly apiUrl: string;
  readonly apiKey: string;
  /** One recorded conversation per size asked for, in that order. */
  readonly recordings: readonly EmulatedRecording[];
}

export interface EmulatedRecording {
  readonly conversationId: string;
  readonly startTimeUnixSecs: number;
  readonly bytes: number;
  readonly sha256: string;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.length === 0 || !sizes.every((size) => Number.isSafeInteger(size) && size > 0)) throw new Error('usage: recording-emulators.ts <bytes> [<bytes> …]');
  const aws = await startBenchAws();
  const fake = await startFakeElevenLabsApi({ count: sizes.length, seed: 77, failedFraction: 0, audioFraction: 1 });
  const conversations = fake.conversations();
  const recordings: EmulatedRecording[] = [];
  for (const [index, bytes] of sizes.entries()) {
    const conversation = conversations[index];
    if (conversation === undefined) throw new Error('the fake account is short of conversations');
    fake.setRecording(conversation.conversationId, { bytes });
    recordings.push({ conversationId: conversation.conversationId, startTimeUnixSecs: conversation.startTimeUnixSecs, ...(await fake.audioDigest(conversation.conversationId)) });
  }
  const emulators: RecordingEmulators = {
    dynamodbEndpoint: aws.dynamo.endpoint,
    sqsS3Endpoint: aws.sqsS3Endpoint,
    tableName: aws.names.tableName,
    bucketName: aws.names.bucketName,
    queueUrl: aws.resources.queueUrl,
    queueArn: aws.resources.queueArn,
    apiUrl: fake.url,
    apiKey: FAKE_API_KEY,
    recordings,
  };
  process.stdout.write(`${JSON.stringify(emulators)}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await fake.stop();
  await aws.stop();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`recording-emulators: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
