/**
 * Signature verification throughput: our `verifySignature` against the official SDK's `webhooks.constructEvent`, on
 * the same validly signed bodies, sampled in alternating rounds so both see the same machine state.
 */
import { signatureHeaderFor, verifySignature } from '../../lambdas/core/ingest/signature.js';
import { formatPerSecond, formatRatio } from './format.js';
import type { BenchSection } from './section.js';
import { median, opsPerSecond } from './timing.js';

const ROUNDS = 5;
const DEFAULT_MIN_TIME_MS = 1500;
const SECRET = 'wsec_bench_0123456789abcdef0123456789abcdef';

const BODY_SIZES = [
  { label: '2 KB', figure: '2Kb', bytes: 2 * 1024 },
  { label: '100 KB', figure: '100Kb', bytes: 100 * 1024 },
  { label: '1 MB', figure: '1Mb', bytes: 1024 * 1024 },
] as const;

/** A post_call_transcription body of exactly `bytes` bytes: repeated transcript turns, then a padding field. */
function transcriptionBodyOfSize(bytes: number, timestampSeconds: number): string {
  const turn = { role: 'user', message: "Hi, I'd like to book a cleaning for next Tuesday morning, please.", time_in_call_secs: 4, interrupted: false };
  const render = (turnCount: number, padding: string) =>
    JSON.stringify({
      type: 'post_call_transcription',
      event_timestamp: timestampSeconds,
      data: { conversation_id: 'conv_bench_verification', status: 'done', transcript: Array.from({ length: turnCount }, () => turn), padding },
    });
  const emptyLength = render(0, '').length;
  const turnLength = JSON.stringify(turn).length + 1; // with its comma
  const turnCount = Math.max(0, Math.floor((bytes - emptyLength + 1) / turnLength));
  const withoutPadding = render(turnCount, '');
  const body = render(turnCount, 'x'.repeat(Math.max(0, bytes - withoutPadding.length)));
  if (body.length !== bytes) throw new Error(`cannot build a ${bytes}-byte body (smallest is ${emptyLength} bytes)`);
  return body;
}

interface Candidate {
  readonly verify: () => unknown;
  readonly opsPerSecond: number[];
}

/**
 * Operations per second of ours and of the SDK for 2 KB, 100 KB and 1 MB bodies. Each is warmed up, then sampled in
 * {@link ROUNDS} rounds (order alternating per round) for `minTimeMs` in total; the table shows the median round.
 */
export async function benchVerification(options: { minTimeMs?: number } = {}): Promise<BenchSection> {
  const minTimeMs = options.minTimeMs ?? DEFAULT_MIN_TIME_MS;
  const sampleMs = minTimeMs / ROUNDS;
  // Loaded here, not at module scope: the SDK is large and only this section needs it.
  const { ElevenLabsClient } = await import('@elevenlabs/elevenlabs-js');
  const sdk = new ElevenLabsClient({ apiKey: 'x' }).webhooks;

  const timestampSeconds = Math.floor(Date.now() / 1000);
  const cases = [];
  for (const size of BODY_SIZES) {
    const body = transcriptionBodyOfSize(size.bytes, timestampSeconds);
    const header = signatureHeaderFor(body, SECRET, timestampSeconds);
    const ours: Candidate = { verify: () => verifySignature(body, header, { secrets: [SECRET], nowSeconds: Math.floor(Date.now() / 1000) }), opsPerSecond: [] };
    // What the SDK call does (verify, then parse), so the ratio compares the same work.
    const oursParsed: Candidate = {
      verify: () => verifySignature(body, header, { secrets: [SECRET], nowSeconds: Math.floor(Date.now() / 1000) }).ok && JSON.parse(body),
      opsPerSecond: [],
    };
    const official: Candidate = { verify: () => sdk.constructEvent(body, header, SECRET), opsPerSecond: [] };
    // Both must accept: the bench measures verification that succeeds.
    const ourVerdict = verifySignature(body, header, { secrets: [SECRET], nowSeconds: timestampSeconds });
    const sdkEvent = (await sdk.constructEvent(body, header, SECRET)) as { type?: unknown };
    if (!ourVerdict.ok || sdkEvent.type !== 'post_call_transcription') throw new Error(`the ${size.label} body did not verify`);
    for (const candidate of [ours, oursParsed, official]) await opsPerSecond(candidate.verify, sampleMs);
    cases.push({ size, ours, oursParsed, official });
  }

  for (let round = 0; round < ROUNDS; round++) {
    for (const { ours, oursParsed, official } of cases) {
      const candidates = [ours, oursParsed, official];
      for (const candidate of round % 2 === 0 ? candidates : candidates.reverse()) {
        candidate.opsPerSecond.push(await opsPerSecond(candidate.verify, sampleMs));
      }
    }
  }

  const figures: Record<string, number> = {};
  const rows = cases.map(({ size, ours, oursParsed, official }) => {
    const oursMedian = median(ours.opsPerSecond);
    const oursParsedMedian = median(oursParsed.opsPerSecond);
    const sdkMedian = median(official.opsPerSecond);
    figures[`verify${size.figure}OursOpsPerSec`] = oursMedian;
    figures[`verify${size.figure}OursParsedOpsPerSec`] = oursParsedMedian;
    figures[`verify${size.figure}SdkOpsPerSec`] = sdkMedian;
    return [size.label, formatPerSecond(oursMedian), formatRatio(oursMedian / sdkMedian), formatPerSecond(oursParsedMedian), formatPerSecond(sdkMedian), formatRatio(oursParsedMedian / sdkMedian)];
  });
  return {
    title: 'Signature verification',
    table: [['body', 'ours: verify', 'ratio to SDK', 'ours: verify + JSON.parse', 'SDK constructEvent (verify + parse)', 'ratio, same work'], ...rows],
    notes: [
      `verifySignature (lambdas/core/ingest/signature.ts) vs @elevenlabs/elevenlabs-js webhooks.constructEvent, one secret, the same validly signed JSON string for both.`,
      `Per body: a warm-up, then ${ROUNDS} alternating rounds of ${Math.round(sampleMs)} ms each per implementation; median round; calls one after another (each awaited when it returns a promise).`,
      'constructEvent also parses the JSON (its API returns the event); the receiver verifies, then parses, so "verify + JSON.parse" is the like-for-like comparison.',
    ],
    figures,
  };
}
