/**
 * The system's Chromium (Debian's `chromium` package), headless, driven by playwright-core: what the viewer's browser
 * tests and its benchmark run the page in. A fresh profile every launch, and the flags that keep Chromium from
 * reaching the network on its own (updates, sync, field trials), so a run needs nothing but loopback.
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where Debian's package puts it; CHROMIUM_PATH overrides. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox', // the tests run as root in CI, where Chromium's sandbox refuses to start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface HeadlessChromium {
  readonly context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/** The Chromium binary to run, or an error saying how to install it. */
export async function chromiumExecutable(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH;
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${path}: install it with \`apt-get install -y chromium\` (.ci/run does when it is missing), or set CHROMIUM_PATH`);
  }
  return path;
}

/** Launches Chromium with a new profile directory and a desktop-sized viewport. */
export async function launchHeadlessChromium(options: { readonly viewport?: { width: number; height: number } } = {}): Promise<HeadlessChromium> {
  const executablePath = await chromiumExecutable();
  const profile = await mkdtemp(join(tmpdir(), 'viewer-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: options.viewport ?? { width: 1280, height: 900 },
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
