/**
 * The conversation viewer in headless Chromium: how long its pages take from navigation to the first frame painted
 * after the view rendered, for a 600-turn conversation (transcript offloaded to S3, as a call that long is) and for
 * the list and overview over 10,000 stored conversations. The server (bin/viewer/server.ts) reads through the read API
 * from dynalite and fauxqs in this process; Chromium runs in its own.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Page } from 'playwright-core';
import { mergeConversationEvent, type ConversationRecord, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { createConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { readSamplePayload } from '../local/sample-payloads.js';
import { seededRandom } from '../local/seeded-random.js';
import { MAX_EXAMINED_PER_PAGE, DEFAULT_PAGE_SIZE } from '../viewer/conversation-list.js';
import { startViewerServer } from '../viewer/server.js';
import { formatBytes, formatCount, formatMs } from './format.js';
import { startBenchAws } from './harness.js';
import { launchHeadlessChromium } from './headless-chromium.js';
import type { BenchSection } from './section.js';
import { seedRecords } from './table-seeding.js';
import { median, timed } from './timing.js';

// Callbacks given to page.evaluate run in the page; bin/ is type-checked with Node's types only (the DOM library would
// clash with them), so the few page globals used here are declared loosely, for this module alone.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const requestAnimationFrame: (callback: () => void) => number;
declare const MutationObserver: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const performance: { now(): number; getEntriesByType(type: 'resource'): { name: string; startTime: number; responseEnd: number }[] };

const LONG_CALL_TURNS = 600;
const STORED_CONVERSATIONS = 10_000;
const AGENTS = 20;
const DAYS = 30;
const RUNS = 7;

type Json = Record<string, unknown>;

function sampleData(): Json {
  return (JSON.parse(readSamplePayload('post_call_transcription').toString('utf8')) as { data: Json }).data;
}

/** The sample's turns repeated to `turns`, each message made distinct, so a long call has every kind of turn. */
function longTranscription(conversationId: string, startSecs: number, turns: number): JsonObject {
  const data = sampleData();
  const sampleTurns = data.transcript as Json[];
  data.conversation_id = conversationId;
  data.transcript = Array.from({ length: turns }, (_, index) => {
    const turn = sampleTurns[index % sampleTurns.length] as Json;
    return { ...turn, time_in_call_secs: index * 3, message: `${index}: ${String(turn.message)} ${'And one more thing about the appointment. '.repeat(1 + (index % 4))}` };
  });
  Object.assign(data.metadata as Json, { start_time_unix_secs: startSecs, call_duration_secs: turns * 3 });
  return data as JsonObject;
}

/** A stored record as the consumer would leave it for a sample-shaped conversation (merged by the production merge). */
function storedRecord(index: number, now: number, random: () => number): ConversationRecord {
  const data = sampleData();
  const conversationId = `conv_bench_viewer_${String(index).padStart(5, '0')}`;
  const start = Math.floor(now - random() * DAYS * 86_400);
  const outcome = random();
  Object.assign(data, { conversation_id: conversationId, agent_id: `agent_bench_${index % AGENTS}`, agent_name: `Bench agent ${index % AGENTS}` });
  Object.assign(data.metadata as Json, { start_time_unix_secs: start, call_duration_secs: Math.floor(10 + random() * 900) });
  Object.assign(data.analysis as Json, { call_successful: outcome < 0.8 ? 'success' : outcome < 0.95 ? 'failure' : 'unknown', call_summary_title: `Bench call ${index}` });
  const meta = { conversationId, eventType: 'post_call_transcription', receivedAt: new Date(start * 1000 + 60_000).toISOString(), source: 'webhook' as const, archiveKey: `events/bench/${conversationId}.json.gz`, bodySha256: `bench-${index}` };
  const merged = mergeConversationEvent(undefined, { kind: 'transcription', meta, data: data as JsonObject }, meta.receivedAt);
  if (merged.kind === 'duplicate') throw new Error('a new record merged as a duplicate');
  return merged.record;
}

interface PageTiming {
  /** Navigation start to the second frame after the view reported ready. */
  readonly totalMs: number;
  /** The view's API request, from its start to the last byte of the answer. */
  readonly apiMs: number;
}

/** How long a page took from navigation start to the frame after the view reported ready, and its API answer. */
async function timeNavigation(page: Page, url: string, view: string): Promise<PageTiming> {
  // A new document each time: going to the same address with only a new #fragment would not load the page again.
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForSelector(`html[data-view="${view}"][data-state="ready"], html[data-state="error"]`, { timeout: 60_000 });
  if ((await page.evaluate(() => document.documentElement.dataset.state)) !== 'ready') throw new Error(`the ${view} page failed: ${await page.locator('#view').innerText()}`);
  const totalMs = await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())))));
  const apiMs = await page.evaluate(() =>
    Math.max(0, ...performance.getEntriesByType('resource').filter((entry) => /\/api\/(conversations|overview)/.test(entry.name)).map((entry) => entry.responseEnd - entry.startTime)),
  );
  return { totalMs, apiMs };
}

/** Clicks "Load more" and resolves to the milliseconds until the next page's rows are painted. */
async function timeLoadMore(page: Page): Promise<PageTiming> {
  const totalMs = await page.evaluate(
    (pageSize) =>
      new Promise<number>((resolve, reject) => {
        const body = document.querySelector('table.conversations tbody');
        const button = document.querySelector('button.load-more');
        if (body === null || button === null || button.hidden) return reject(new Error('no Load more button'));
        const target = body.children.length + pageSize;
        const started = performance.now();
        new MutationObserver((_: unknown, observer: { disconnect(): void }) => {
          if (body.children.length < target) return;
          observer.disconnect();
          requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
        }).observe(body, { childList: true });
        button.click();
      }),
    DEFAULT_PAGE_SIZE,
  );
  const apiMs = await page.evaluate(() => {
    const last = performance.getEntriesByType('resource').filter((entry) => entry.name.includes('after=')).at(-1);
    return last === undefined ? 0 : last.responseEnd - last.startTime;
  });
  return { totalMs, apiMs };
}

interface Timings {
  readonly median: number;
  readonly max: number;
  readonly apiMedian: number;
}

async function medianOf(runs: number, measure: () => Promise<PageTiming>): Promise<Timings> {
  const samples: PageTiming[] = [];
  for (let run = 0; run < runs; run++) samples.push(await measure());
  const totals = samples.map((sample) => sample.totalMs);
  return { median: median(totals), max: Math.max(...totals), apiMedian: median(samples.map((sample) => sample.apiMs)) };
}

export async function benchViewer(): Promise<BenchSection> {
  const aws = await startBenchAws();
  const documentClient = DynamoDBDocumentClient.from(aws.dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  const storage = { documentClient, s3: aws.s3, tableName: aws.names.tableName, bucketName: aws.names.bucketName };
  const now = Math.floor(Date.now() / 1000);
  const random = seededRandom(17);
  const longId = 'conv_bench_viewer_long_call';
  const longData = longTranscription(longId, now - 600, LONG_CALL_TURNS);
  const transcriptBytes = Buffer.byteLength(JSON.stringify(longData.transcript));
  const seeding = await timed(async () => {
    const meta = { conversationId: longId, eventType: 'post_call_transcription', receivedAt: new Date().toISOString(), source: 'webhook' as const, archiveKey: `events/bench/${longId}.json.gz`, bodySha256: 'bench-long' };
    await createConversationStore(storage).applyEvent({ kind: 'transcription', meta, data: longData });
    await seedRecords(documentClient, aws.names.tableName, Array.from({ length: STORED_CONVERSATIONS }, (_, index) => storedRecord(index, now, random)));
  });
  const reader = createConversationReader(storage);
  const stored = await reader.getConversation(longId);
  if (stored?.transcript_location !== 's3' || (stored.transcript as unknown[]).length !== LONG_CALL_TURNS) throw new Error('the long call was not stored with its transcript offloaded');

  const server = await startViewerServer({ reader, source: { description: 'the benchmark tables', table: aws.names.tableName, bucket: aws.names.bucketName }, port: 0 });
  const browser = await launchHeadlessChromium();
  try {
    const page = await browser.context.newPage();
    const open = (hash: string, view: string) => () => timeNavigation(page, `${server.url}${hash}`, view);
    await open(`#/c/${longId}`, 'conversation')(); // warm-up: Chromium's first page load compiles and caches more than later ones
    const conversation = await medianOf(RUNS, open(`#/c/${longId}`, 'conversation'));
    const renderedTurns = await page.locator('li.turn').count();
    if (renderedTurns !== LONG_CALL_TURNS) throw new Error(`the conversation page showed ${renderedTurns} turns, not ${LONG_CALL_TURNS}`);
    const firstPage = await medianOf(RUNS, open('#/', 'list'));
    const nextPage = await medianOf(RUNS, () => timeLoadMore(page));
    const search = await medianOf(RUNS, open('#/?q=words%20no%20summary%20holds', 'list'));
    const overview = await medianOf(RUNS, open('#/overview', 'overview'));
    const figures = {
      viewerConversationTurns: LONG_CALL_TURNS,
      viewerConversationRenderMs: conversation.median,
      viewerConversationApiMs: conversation.apiMedian,
      viewerStoredConversations: STORED_CONVERSATIONS + 1,
      viewerListFirstPageMs: firstPage.median,
      viewerListFirstPageApiMs: firstPage.apiMedian,
      viewerListNextPageMs: nextPage.median,
      viewerListSearchPageMs: search.median,
      viewerOverviewMs: overview.median,
    };
    const row = (pageName: string, data: string, timing: Timings) => [pageName, data, formatMs(timing.median), formatMs(timing.max), formatMs(timing.apiMedian)];
    return {
      title: 'Conversation viewer',
      table: [
        ['page', 'what it reads and shows', 'median', 'slowest', 'of which the API answer (median)'],
        row('one conversation', `${LONG_CALL_TURNS} turns (${formatBytes(transcriptBytes)} transcript, offloaded to S3)`, conversation),
        row('conversations, first page', `${DEFAULT_PAGE_SIZE} newest of ${formatCount(STORED_CONVERSATIONS + 1)} stored over ${DAYS} days`, firstPage),
        row('conversations, Load more', `the next ${DEFAULT_PAGE_SIZE}`, nextPage),
        row('conversations, text matching none', `${formatCount(MAX_EXAMINED_PER_PAGE)} read (one request's budget), 0 shown`, search),
        row('overview', `all ${formatCount(STORED_CONVERSATIONS + 1)} counted into 3 charts`, overview),
      ],
      notes: [
        `Headless Chromium (${browser.context.browser()?.version() ?? 'system'}, Debian package) driven by playwright-core; each figure is the median of ${RUNS} page loads after one warm-up: navigation start to the second animation frame after the view reported ready (fetched, built and painted). Load more is timed from the click.`,
        'The viewer server and the emulators (dynalite, fauxqs) share this process on 127.0.0.1; in AWS each read adds DynamoDB or S3 latency. The list reads summary attributes only (a ProjectionExpression) through the by_day index, day by day.',
        `Stored records are the sample transcription merged by the production merge (~5.6 KiB each, transcript inline); seeding them took ${formatMs(seeding.ms)} (not counted).`,
      ],
      figures,
    };
  } finally {
    await browser.close();
    await server.stop();
    await aws.stop();
  }
}
