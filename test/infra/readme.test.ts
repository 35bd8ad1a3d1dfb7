/**
 * README is the front door: these checks keep its reference parts true as the code changes. Every context key, stack
 * output, alarm and command-line flag the code has is named in README.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandIo } from '../../bin/cli/io.js';
import { runCli } from '../../bin/cli/main.js';
import { SUBCOMMANDS } from '../../bin/cli/subcommands.js';
import { DATASET_COLUMNS } from '../../lambdas/core/analytics/dataset.js';
import { NAMED_QUERIES } from '../../lambdas/core/analytics/named-queries.js';
import { STACK_OUTPUT } from '../../lambdas/core/contract.js';
import { CONTEXT_KEYS } from '../../lib/stack-config.js';
import { synthesizeStack } from './support.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The text of one `## ` section. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

async function helpOf(subcommand: string): Promise<string> {
  let out = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((out += chunk.toString()), true) }, stderr: { write: () => true }, env: {} };
  await runCli([subcommand, '--help'], io);
  return out;
}

describe('README', () => {
  it('documents every CDK context key in the configuration table', () => {
    const configuration = section('Configuration');
    expect(Object.keys(CONTEXT_KEYS).filter((key) => !configuration.includes(`\`${key}\``))).toEqual([]);
  });

  it('lists every stack output', () => {
    const deploying = section('Deploying');
    expect(Object.values(STACK_OUTPUT).filter((output) => !deploying.includes(`\`${output}\``))).toEqual([]);
  });

  it('names every alarm in Monitoring', () => {
    const monitoring = section('Monitoring');
    const alarms = Object.keys(synthesizeStack().stack.monitoring.alarms);
    expect(alarms.length).toBeGreaterThan(10);
    expect(alarms.filter((alarm) => !monitoring.includes(`\`${alarm}\``))).toEqual([]);
  });

  it.each(Object.keys(SUBCOMMANDS))('shows every flag `%s --help` shows', async (subcommand) => {
    const cli = section('Command-line tools');
    const flags = [...new Set((await helpOf(subcommand)).match(/--[a-z][a-z-]*/g) ?? [])].filter((flag) => flag !== '--help');
    expect(flags.length).toBeGreaterThan(0);
    expect(cli).toContain(`\`${subcommand}`);
    expect(flags.filter((flag) => !cli.includes(flag))).toEqual([]);
  });

  it('documents every dataset column and every named query', () => {
    const sql = section('SQL over every conversation');
    expect(DATASET_COLUMNS.filter((column) => !sql.includes(`| \`${column.name}\` | ${column.type} |`)).map((column) => column.name)).toEqual([]);
    expect(NAMED_QUERIES.filter((query) => !sql.includes(`| \`${query.name}\` |`)).map((query) => query.name)).toEqual([]);
  });

  it('says what the receiver answers to a GET, as the stack routes it', () => {
    const route = Object.values(synthesizeStack().template.findResources('AWS::ApiGatewayV2::Route')).map((resource) => (resource.Properties as { RouteKey: string }).RouteKey);
    expect(route).toEqual(['POST /webhooks/elevenlabs']);
    expect(section('Receiver answers')).toMatch(/\| 404 \| `\{"message":"Not Found"\}` \| any other method or path, a `GET` included/);
  });
});
