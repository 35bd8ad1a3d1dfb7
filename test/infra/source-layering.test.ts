/**
 * The project's layering, checked on the source text: what ships or runs for users (bin/, lib/, lambdas/) never
 * imports from test/ nor reads a file there. Tests may use product code, never the reverse: a helper both need is a
 * product module (as the fake ElevenLabs API and the sample payloads are, in bin/local/).
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const PRODUCT_DIRECTORIES = ['bin', 'lib', 'lambdas'];
/** Every quoted relative path: import and export specifiers, `import()`, `new URL(…, import.meta.url)`, file reads. */
const RELATIVE_PATH_LITERAL = /(['"`])(\.{1,2}\/[^'"`\n]*)\1/g;

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && /\.[cm]?[jt]s$/.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
}

/** `file:line → path` for each relative path in `file` that lands under test/. */
function pathsIntoTest(file: string, text: string): string[] {
  const testDirectory = join(REPO, 'test') + sep;
  const found: string[] = [];
  for (const match of text.matchAll(RELATIVE_PATH_LITERAL)) {
    const target = resolve(dirname(file), match[2] as string);
    if (`${target}${sep}`.startsWith(testDirectory)) {
      const line = text.slice(0, match.index).split('\n').length;
      found.push(`${relative(REPO, file)}:${line} → ${match[2]}`);
    }
  }
  return found;
}

describe('product code and test code', () => {
  it('finds a path into test/ when there is one (the check can fail)', () => {
    // Prepare
    const file = join(REPO, 'bin', 'bench', 'example.ts');

    // Act
    const found = pathsIntoTest(file, "import { x } from '../../test/support/x.js';\nconst y = new URL('../../test/fixtures/y.json', import.meta.url);");

    // Assess
    expect(found).toEqual(['bin/bench/example.ts:1 → ../../test/support/x.js', 'bin/bench/example.ts:2 → ../../test/fixtures/y.json']);
  });

  it('keeps bin/, lib/ and lambdas/ free of imports from and reads under test/', async () => {
    // Prepare
    const files = (await Promise.all(PRODUCT_DIRECTORIES.map((directory) => sourceFiles(join(REPO, directory))))).flat();

    // Act
    const found = (await Promise.all(files.map(async (file) => pathsIntoTest(file, await readFile(file, 'utf8'))))).flat();

    // Assess
    expect(files.length).toBeGreaterThan(50);
    expect(found).toEqual([]);
  });
});
