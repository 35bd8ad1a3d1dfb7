/**
 * The page the viewer serves: index.html, the stylesheet, and the script bundled from page/*.ts by esbuild once, in
 * memory, when the server starts (no build step, nothing written to disk, nothing fetched at run time).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface PageAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** Asset paths under the viewer's base URL. */
export const PAGE_PATHS = { index: '', script: 'assets/viewer.js', stylesheet: 'assets/viewer.css', icon: 'assets/favicon.svg' } as const;

const PAGE_DIRECTORY = new URL('./page/', import.meta.url);

async function bundleScript(): Promise<Buffer> {
  // Loaded here, not at import: a command-line tool that registers the viewer among others pays for esbuild only when
  // the viewer starts.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('main.ts', PAGE_DIRECTORY))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('bundling the viewer page produced no output');
  return Buffer.from(output.contents);
}

/** Every asset by its path under the base URL. */
export async function loadPageAssets(): Promise<ReadonlyMap<string, PageAsset>> {
  const file = (name: string): Promise<Buffer> => readFile(new URL(name, PAGE_DIRECTORY));
  const [index, stylesheet, icon, script] = await Promise.all([file('index.html'), file('viewer.css'), file('favicon.svg'), bundleScript()]);
  return new Map<string, PageAsset>([
    [PAGE_PATHS.index, { contentType: 'text/html; charset=utf-8', body: index }],
    [PAGE_PATHS.stylesheet, { contentType: 'text/css; charset=utf-8', body: stylesheet }],
    [PAGE_PATHS.script, { contentType: 'text/javascript; charset=utf-8', body: script }],
    [PAGE_PATHS.icon, { contentType: 'image/svg+xml', body: icon }],
  ]);
}
