/**
 * The conversation viewer as a person uses it: `npm run viewer -- --local` (spawned) reading the local pipeline, into
 * which signed webhooks brought the seeded conversations; a real headless Chromium opens the printed address. Each
 * page is saved as a screenshot under test-output/viewer/ for a reviewer to look at.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchHeadlessChromium, type HeadlessChromium } from '../../bin/bench/headless-chromium.js';
import { localTarget, type ConversationTarget } from '../../bin/cli/conversation-target.js';
import { postSignedWebhook } from '../../bin/local/post-webhook.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { CONTENT_SECURITY_POLICY } from '../../bin/viewer/server.js';
import { nowSeconds } from '../fixtures/webhook-requests.js';
import { BILLING, FRONT_DESK, HOSTILE, HOSTILE_AGENT, viewerConversations, type SeededConversations } from '../support/viewer-conversations.js';

// Callbacks given to page.evaluate run in the page; this file is type-checked with Node's types only (adding the DOM
// library to the project would clash with them), so the page's globals are declared loosely, for this module alone.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const HTMLMediaElement: any;
type HTMLElement = any;
type HTMLDetailsElement = any;
type HTMLAudioElement = any;

const SCREENSHOTS = join(process.cwd(), 'test-output', 'viewer');
const VIEWER_URL = /^(http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+\/)$/m;

let dataDir: string;
let pipeline: LocalPipeline;
let target: ConversationTarget;
let viewer: ChildProcess;
let viewerUrl: string;
let viewerStderr = '';
let browser: HeadlessChromium;
let seeded: SeededConversations;

/** Polls the read API until every seeded conversation is stored (and the recording with it). */
async function waitForStored(ids: readonly string[], recordingOf: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const records = await Promise.all(ids.map((id) => target.reader.getConversation(id, { includeTranscript: false })));
    const audio = await target.reader.openAudio(recordingOf);
    if (records.every((record) => record !== undefined) && audio !== undefined) return;
    if (Date.now() > deadline) throw new Error(`not stored in time: ${ids.filter((_, index) => records[index] === undefined).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Spawns the command as a user runs it and resolves to the address it prints. */
async function startViewer(): Promise<string> {
  viewer = spawn(process.execPath, ['--import', 'tsx', 'bin/viewer.ts', '--local', '--port', '0'], {
    env: { ...process.env, LOCAL_DATA_DIR: dataDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  viewer.stderr?.on('data', (chunk: Buffer) => (viewerStderr += chunk.toString()));
  let stdout = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the viewer printed no address: ${viewerStderr}`)), 30_000);
    viewer.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = VIEWER_URL.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    viewer.on('exit', (code) => reject(new Error(`the viewer exited with ${code}: ${viewerStderr}`)));
  });
}

interface OpenedPage {
  readonly page: Page;
  /** Script errors and CSP violations seen so far on this page. */
  readonly problems: string[];
  readonly dialogs: string[];
}

/** A new tab that records script errors, CSP violations and dialogs; opens `hash` and waits for the view. */
async function openPage(hash: string, view: 'list' | 'conversation' | 'overview'): Promise<OpenedPage> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event: { violatedDirective: string }) => console.error(`CSP violation: ${event.violatedDirective}`));
  });
  await page.goto(`${viewerUrl}${hash}`);
  await waitForView(page, view);
  return { page, problems, dialogs };
}

async function waitForView(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`html[data-view="${view}"][data-state="ready"], html[data-state="error"]`, { timeout: 20_000 });
  const state = await page.evaluate(() => document.documentElement.dataset.state);
  if (state !== 'ready') throw new Error(`the ${view} page failed: ${await page.locator('#view').innerText()}`);
}

/** Runs `act` (which navigates) and waits for `view` to be ready again. */
async function afterNavigation(page: Page, view: string, act: () => Promise<void>): Promise<void> {
  await page.evaluate(() => (document.documentElement.dataset.state = 'stale'));
  await act();
  await waitForView(page, view);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function listedIds(page: Page): Promise<string[]> {
  return page.locator('table.conversations tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.conversationId ?? ''));
}

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'viewer-browser-'));
  pipeline = await startLocalPipeline({ dataDir, port: 0, inMemory: true, env: {}, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1 });
  target = await localTarget({ LOCAL_DATA_DIR: dataDir });
  seeded = viewerConversations(nowSeconds(), Date.now().toString(36));
  for (const webhook of seeded.webhooks) {
    const answer = await postSignedWebhook(pipeline.endpoints.webhookUrl, webhook.body, { secret: pipeline.webhookSecret.secret, timestampSecs: nowSeconds(), contentType: webhook.contentType });
    if (answer.status !== 200) throw new Error(`seeding ${webhook.conversationId}: ${answer.status} ${answer.body}`);
  }
  await waitForStored(Object.values(seeded.ids), seeded.ids.cleaning);
  [viewerUrl, browser] = await Promise.all([startViewer(), launchHeadlessChromium()]);
});

afterAll(async () => {
  await browser?.close();
  if (viewer !== undefined && viewer.exitCode === null) {
    viewer.kill('SIGTERM');
    await once(viewer, 'exit');
  }
  target?.close();
  await pipeline?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the conversation viewer in Chromium', () => {
  it('lists the seeded conversations newest first with their agent, duration, outcome and recording', async () => {
    // Prepare
    const { page, problems } = await openPage('#/', 'list');

    // Act
    const ids = await listedIds(page);
    const cleaning = page.locator(`tr[data-conversation-id="${seeded.ids.cleaning}"] td`);

    // Assess
    const { failed, cleaning: cleaningId, refund, unknown, hostile, invoice, reschedule } = seeded.ids;
    expect(ids).toEqual([failed, cleaningId, refund, unknown, hostile, invoice, reschedule]);
    expect(await cleaning.allInnerTexts()).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/), `${FRONT_DESK.name}\n${FRONT_DESK.id}`, '0:38', 'done', 'success', 'Cleaning booked for Tuesday', 'yes']);
    expect(await page.locator(`tr[data-conversation-id="${refund}"] td`).nth(6).innerText()).toBe('not stored');
    expect(await page.locator(`tr[data-conversation-id="${failed}"] td`).allInnerTexts()).toEqual([expect.any(String), FRONT_DESK.id, '—', 'failed', '—', 'Call not started: no-answer', 'no']);
    expect(await page.locator('.status-line').innerText()).toMatch(/^7 conversations started/);
    await screenshot(page, 'list');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('narrows the list by agent, status, call success, free text and days, and keeps the filters in the address', async () => {
    // Prepare
    const { page, problems } = await openPage('#/', 'list');
    const apply = (fill: () => Promise<void>) =>
      afterNavigation(page, 'list', async () => {
        await page.locator('form.filters').evaluate((form: { reset(): void }) => form.reset());
        await fill();
        await page.locator('form.filters button[type="submit"]').click();
      });

    // Act + Assess
    await apply(() => page.locator('input[name="agent"]').fill(BILLING.id));
    expect(await listedIds(page)).toEqual([seeded.ids.refund, seeded.ids.invoice]);
    expect(page.url()).toContain(`agent=${BILLING.id}`);

    await apply(() => page.locator('select[name="status"]').selectOption('failed').then(() => undefined));
    expect(await listedIds(page)).toEqual([seeded.ids.failed]);

    await apply(() => page.locator('select[name="success"]').selectOption('failure').then(() => undefined));
    expect(await listedIds(page)).toEqual([seeded.ids.refund]);

    await apply(() => page.locator('input[name="q"]').fill('INVOICE'));
    expect(await listedIds(page)).toEqual([seeded.ids.invoice]);

    const today = new Date().toISOString().slice(0, 10);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    await apply(async () => {
      await page.locator('input[name="since"]').fill(twoDaysAgo);
      await page.locator('input[name="until"]').fill(today);
      await page.locator('input[name="agent"]').fill(FRONT_DESK.id);
    });
    expect(await listedIds(page)).toEqual([seeded.ids.failed, seeded.ids.cleaning, seeded.ids.unknown]);
    await screenshot(page, 'list-filtered');

    await apply(() => page.locator('input[name="q"]').fill('no conversation says this'));
    expect(await listedIds(page)).toEqual([]);
    expect(await page.locator('.status-line').innerText()).toMatch(/^No conversations started .* match/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('pages through the list with Load more until every conversation is shown once', async () => {
    // Prepare
    const { page, problems } = await openPage('#/?limit=3', 'list');
    const pages = [await listedIds(page)];

    // Act
    while ((await page.locator('button.load-more').isVisible()) && pages.length < 10) {
      const before = (await listedIds(page)).length;
      await page.locator('button.load-more').click();
      await page.waitForFunction((count) => document.querySelectorAll('table.conversations tbody tr').length > count || document.querySelector('button.load-more')?.hasAttribute('hidden'), before);
      pages.push((await listedIds(page)).slice(before));
    }

    // Assess
    expect(pages.map((ids) => ids.length)).toEqual([3, 3, 1]);
    expect(new Set(pages.flat()).size).toBe(7);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a conversation: every turn, the folded tool call, the analysis, and phone numbers masked until revealed', async () => {
    // Prepare
    const { page, problems } = await openPage(`#/c/${encodeURIComponent(seeded.ids.cleaning)}`, 'conversation');

    // Act
    const turns = await page.locator('ol.transcript > li.turn').count();
    const roles = await page.locator('li.turn .role').allInnerTexts();
    const tool = page.locator('details.tool').first();
    const toolOpenBefore = await tool.evaluate((details) => (details as HTMLDetailsElement).open);
    await tool.locator('summary').click();
    await tool.locator('pre').first().waitFor(); // the folded part is built when it opens (the toggle event is async)
    const toolText = await tool.innerText();
    const criteria = await page.locator('table.criteria tbody tr td').allInnerTexts();
    const phoneMasked = await page.locator('.phone-call').innerText();
    await page.locator('button.reveal').click();
    const phoneShown = await page.locator('.phone-call').innerText();

    // Assess
    expect(await page.locator('h1').innerText()).toBe('Cleaning booked for Tuesday');
    expect(turns).toBe(seeded.cleaningTurns);
    expect(roles.slice(0, 2)).toEqual(['Agent', 'User']);
    expect(toolOpenBefore).toBe(false);
    expect(toolText).toContain('check_availability');
    expect(toolText).toContain('"part_of_day": "morning"');
    expect(toolText).toContain('"10:30"');
    expect(criteria).toEqual(['appointment_booked', 'success', 'The caller accepted the 10:30 Tuesday slot.']);
    expect(await page.locator('.data-collection tbody td').allInnerTexts()).toEqual(['requested_service', 'cleaning', 'Caller asked to book a cleaning.']);
    expect(await page.locator('.summary').innerText()).toBe('The caller booked a cleaning for Tuesday at 10:30.');
    expect(phoneMasked).not.toContain('+15555550199');
    expect(phoneMasked).toContain('+•••••••••99');
    expect(phoneShown).toContain('+15555550199');
    await page.locator('button.reveal').click();
    await page.locator('details[data-section="raw-json"] summary').click();
    const raw = JSON.parse(await page.locator('pre.raw-json').innerText()) as { conversation_id: string; conversation: { metadata: { phone_call: { external_number: string } } } };
    expect(raw.conversation_id).toBe(seeded.ids.cleaning);
    expect(raw.conversation.metadata.phone_call.external_number).toBe('+•••••••••99');
    await screenshot(page, 'conversation');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('plays the recording: the audio element reaches canplay over HTTP Range and seeks, from the player and from a turn', async () => {
    // Prepare
    const audioResponses: { status: number; range?: string; contentRange?: string }[] = [];
    const { page, problems } = await openPage(`#/c/${encodeURIComponent(seeded.ids.cleaning)}`, 'conversation');
    page.on('response', (response) => {
      if (response.url().endsWith('/audio')) audioResponses.push({ status: response.status(), range: response.request().headers().range, contentRange: response.headers()['content-range'] });
    });

    // Act
    const played = await page.evaluate(async () => {
      const audio = document.querySelector('audio');
      if (audio === null) throw new Error('no audio element');
      const event = (name: string) => new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${name} within 15 s (readyState ${audio.readyState}, error ${audio.error?.message ?? 'none'})`)), 15_000);
        audio.addEventListener(name, () => (clearTimeout(timer), resolve()), { once: true });
      });
      audio.preload = 'auto';
      if (audio.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) {
        audio.load();
        await event('canplay');
      }
      const seeked = event('seeked');
      audio.currentTime = 20;
      await seeked;
      return { duration: audio.duration, currentTime: audio.currentTime, seekableEnd: audio.seekable.length > 0 ? audio.seekable.end(0) : 0 };
    });
    const fromTurn = page.evaluate(() => new Promise<number>((resolve) => document.querySelector('audio')?.addEventListener('seeked', (event: { target: HTMLAudioElement }) => resolve(event.target.currentTime), { once: true })));
    await page.locator('li.turn button.time', { hasText: '0:09' }).click();
    const turnTime = await fromTurn;

    // Assess
    expect(played.duration).toBeGreaterThan(seeded.recordingSeconds - 1);
    expect(played.duration).toBeLessThan(seeded.recordingSeconds + 1);
    expect(played.seekableEnd).toBeGreaterThan(seeded.recordingSeconds - 1);
    expect(played.currentTime).toBeCloseTo(20, 0);
    expect(turnTime).toBeCloseTo(9, 0);
    expect(audioResponses.length).toBeGreaterThan(0);
    expect(audioResponses.every((response) => response.status === 206 && response.range?.startsWith('bytes=') === true && /^bytes \d+-\d+\/\d+$/.test(response.contentRange ?? ''))).toBe(true);
    await screenshot(page, 'conversation-recording');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a failed call initiation and an event of an unknown type', async () => {
    // Prepare + Act
    const failed = await openPage(`#/c/${encodeURIComponent(seeded.ids.failed)}`, 'conversation');
    const failure = await failed.page.locator('[data-section="call-initiation-failed"]').innerText();
    await screenshot(failed.page, 'failed-call-initiation');
    const unknown = await openPage(`#/c/${encodeURIComponent(seeded.ids.unknown)}`, 'conversation');
    const events = await unknown.page.locator('[data-section="events-of-unknown-types"]').innerText();
    await screenshot(unknown.page, 'unknown-event');

    // Assess
    expect(await failed.page.locator('h1').innerText()).toBe('Call not started: no-answer');
    expect(failure).toContain('no-answer');
    expect(failure).toContain('sip_status_code');
    expect(failure).toContain('480');
    expect(await failed.page.locator('[data-section="recording"]').innerText()).toContain('No recording.');
    expect(events).toContain('conversation_feedback_added');
    expect(events).toContain(JSON.stringify(HOSTILE.image));
    expect(await unknown.page.locator('#view img').count()).toBe(0);
    expect([...failed.problems, ...unknown.problems]).toEqual([]);
    await failed.page.close();
    await unknown.page.close();
  });

  it('shows hostile HTML in a conversation as the characters it is, running no script and creating no element', async () => {
    // Prepare
    const list = await openPage(`#/?agent=${HOSTILE_AGENT.id}`, 'list');
    const conversation = await openPage(`#/c/${encodeURIComponent(seeded.ids.hostile)}`, 'conversation');
    const { page } = conversation;

    // Act
    await page.locator('details.tool summary').first().click();
    await page.locator('details.tool pre').first().waitFor();
    await page.locator('details[data-section="raw-json"] summary').click();
    await page.locator('pre.raw-json').waitFor();
    const messages = await page.locator('li.turn p.message').allInnerTexts();
    const injected = await page.evaluate(() => ({
      xss: (window as unknown as { __xss?: unknown }).__xss,
      elements: document.querySelectorAll('#view script, #view img, #view iframe, #view svg, #view b').length,
    }));
    const listed = await list.page.locator('table.conversations tbody td').allInnerTexts();
    await screenshot(list.page, 'hostile-list');
    await screenshot(page, 'hostile-conversation');

    // Assess
    expect(messages.slice(0, 2)).toEqual([HOSTILE.script, HOSTILE.image]);
    expect(await page.locator('h1').innerText()).toBe(HOSTILE.title);
    expect(await page.locator('.summary').innerText()).toBe(`${HOSTILE.script} summary`);
    expect(await page.locator('table.criteria').innerText()).toContain(HOSTILE.rationale);
    expect(await page.locator('details.tool').first().innerText()).toContain('<img src=x onerror=alert(4)>');
    expect(await page.locator('.facts').innerText()).toContain(HOSTILE_AGENT.name);
    expect(listed).toContain(HOSTILE.title);
    expect(listed.join('\n')).toContain(HOSTILE_AGENT.name);
    expect(injected).toEqual({ xss: undefined, elements: 0 });
    expect(await list.page.evaluate(() => document.querySelectorAll('#view script, #view img, #view svg, #view b').length)).toBe(0);
    expect([...list.dialogs, ...conversation.dialogs]).toEqual([]);
    expect([...list.problems, ...conversation.problems]).toEqual([]);
    await list.page.close();
    await page.close();
  });

  it('draws the overview: conversations per day, success rate per agent and durations as SVG charts', async () => {
    // Prepare + Act
    const { page, problems } = await openPage('#/overview', 'overview');
    const agents = await page.locator('[data-chart="success-rate-per-agent"] g.bar > title').allTextContents();
    const dayColumns = await page.locator('[data-chart="conversations-per-day"] g.column > title').allTextContents();
    const durations = await page.locator('[data-chart="duration-distribution"] g.column > title').allTextContents();
    await screenshot(page, 'overview');

    // Assess
    expect(await page.locator('.status-line').innerText()).toMatch(/^7 conversations started .*; 43% successful\.$/);
    expect(agents).toEqual([`${FRONT_DESK.name}: 25% of 4`, `${BILLING.name}: 50% of 2`, `${HOSTILE_AGENT.name}: 100% of 1`]);
    expect(dayColumns).toHaveLength(31);
    expect(dayColumns.at(-1)).toMatch(/^\d{2}-\d{2}: /);
    expect(durations).toContain('30 s – 1 min: 5 conversations');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('serves the page with its Content-Security-Policy and answers nothing without the token', async () => {
    // Act
    const page = await fetch(viewerUrl);
    const withoutToken = await fetch(new URL('/api/conversations', viewerUrl));

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(withoutToken.status).toBe(404);
    expect(viewerStderr).not.toContain(seeded.ids.cleaning);
    expect(viewerStderr).not.toContain('Cleaning');
  });
});
