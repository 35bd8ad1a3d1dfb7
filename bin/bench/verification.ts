/**
 * Signature verification throughput: our `verifySignature` against the official SDK's `webhooks.constructEvent` and
 * against a bare `createHmac` over the same bytes (the floor any verifier stands on), on the same validly signed
 * bodies, sampled in alternating rounds so all see the same machine state.
 */
import { createHmac } from 'node:crypto';
import { signatureHeaderFor, verifySignature } from '../../lambdas/core/ingest/signature.js';
import { formatPerSecond, formatRatio } from './format.js';
import type { BenchSection } from './section.js';
import { median, opsPerSecond } from './timing.js';

/** Odd, so the median is a round's own figure. */
const ROUNDS = 9;
const DEFAULT_MIN_TIME_MS = 1500;
const SECRET = 'wsec_bench_0123456789abcdef0123456789abcdef';

const BODY_SIZES = [
  { label: '2 KB', figure: '2Kb', overheadFigure: 'verifyOverheadRatio2k', bytes: 2 * 1024 },
  { label: '100 KB', figure: '100Kb', overheadFigure: 'verifyOverheadRatio100k', bytes: 100 * 1024 },
  { label: '1 MB', figure: '1Mb', overheadFigure: 'verifyOverheadRatio1m', bytes: 1024 * 1024 },
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
    // The least any verifier does: the HMAC of "<timestamp>.<body>" as hex, no header, no window, no comparison.
    const bare: Candidate = { verify: () => createHmac('sha256', SECRET).update(`${timestampSeconds}.`).update(body).digest('hex'), opsPerSecond: [] };
    // Both must accept: the bench measures verification that succeeds.
    const ourVerdict = verifySignature(body, header, { secrets: [SECRET], nowSeconds: timestampSeconds });
    const sdkEvent = (await sdk.constructEvent(body, header, SECRET)) as { type?: unknown };
    if (!ourVerdict.ok || sdkEvent.type !== 'post_call_transcription') throw new Error(`the ${size.label} body did not verify`);
    for (const candidate of [ours, oursParsed, official, bare]) await opsPerSecond(candidate.verify, sampleMs);
    cases.push({ size, ours, oursParsed, official, bare });
  }

  for (let round = 0; round < ROUNDS; round++) {
    for (const { ours, oursParsed, official, bare } of cases) {
      // Ours and the bare HMAC side by side, so each round's ratio compares samples taken under the same load.
      const candidates = [ours, bare, oursParsed, official];
      for (const candidate of round % 2 === 0 ? candidates : candidates.reverse()) {
        candidate.opsPerSecond.push(await opsPerSecond(candidate.verify, sampleMs));
      }
    }
  }

  const figures: Record<string, number> = {};
  const rows = cases.map(({ size, ours, oursParsed, official, bare }) => {
    const oursMedian = median(ours.opsPerSecond);
    const oursParsedMedian = median(oursParsed.opsPerSecond);
    const sdkMedian = median(official.opsPerSecond);
    const bareMedian = median(bare.opsPerSecond);
    // Time per call, ours ÷ bare, per round (paired samples), then the median round.
    const overhead = median(ours.opsPerSecond.map((oursRound, round) => (bare.opsPerSecond[round] ?? Number.NaN) / oursRound));
    figures[`verify${size.figure}OursOpsPerSec`] = oursMedian;
    figures[`verify${size.figure}OursParsedOpsPerSec`] = oursParsedMedian;
    figures[`verify${size.figure}SdkOpsPerSec`] = sdkMedian;
    figures[`verify${size.figure}BareHmacOpsPerSec`] = bareMedian;
    figures[size.overheadFigure] = Math.round(overhead * 1000) / 1000;
    return [
      size.label,
      formatPerSecond(oursMedian),
      formatRatio(oursMedian / sdkMedian),
      formatPerSecond(oursParsedMedian),
      formatPerSecond(sdkMedian),
      formatRatio(oursParsedMedian / sdkMedian),
      formatPerSecond(bareMedian),
      formatRatio(overhead),
    ];
  });
  return {
    title: 'Signature verification',
    table: [['body', 'ours: verify', 'ratio to SDK', 'ours: verify + JSON.parse', 'SDK constructEvent (verify + parse)', 'ratio, same work', 'bare createHmac', 'ours ÷ bare (time per call)'], ...rows],
    notes: [
      `verifySignature (lambdas/core/ingest/signature.ts) vs @elevenlabs/elevenlabs-js webhooks.constructEvent, one secret, the same validly signed JSON string for both.`,
      `Per body: a warm-up, then ${ROUNDS} alternating rounds of ${Math.round(sampleMs)} ms each per implementation; median round; calls one after another (each awaited when it returns a promise).`,
      'constructEvent also parses the JSON (its API returns the event); the receiver verifies, then parses, so "verify + JSON.parse" is the like-for-like comparison.',
      'Bare createHmac: `createHmac(\'sha256\', secret).update(`${t}.`).update(body).digest(\'hex\')`, the floor under any verifier. "ours ÷ bare" (figures verifyOverheadRatio2k, …100k, …1m) is ours\' time per call over the bare HMAC\'s, taken per round from samples side by side, median round: what header parsing, the time window and the constant-time comparison add.',
    ],
    figures,
  };
}
