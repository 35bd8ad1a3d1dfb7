/**
 * How `npm run bench` shows its results: markdown tables for the console and for README's Performance section, the
 * machine they ran on, and the cost model. Pure functions, apart from `machineInfo` reading this machine.
 */
import { cpus, release, totalmem, type } from 'node:os';
import type { CostLineItem, CostModel, Price, Prices } from './cost-model.js';
import type { BenchSection } from './section.js';

export const BENCH_BLOCK_START = '<!-- bench:start -->';
export const BENCH_BLOCK_END = '<!-- bench:end -->';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly nodeVersion: string;
  readonly os: string;
  /** ISO-8601 date of the run. */
  readonly date: string;
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown CPU',
    cpuCount: processors.length,
    totalMemoryBytes: totalmem(),
    nodeVersion: process.version,
    os: `${type()} ${release()} (${process.arch})`,
    date: now.toISOString().slice(0, 10),
  };
}

export function describeMachine(machine: MachineInfo): string {
  const memoryGiB = (machine.totalMemoryBytes / 1024 ** 3).toFixed(0);
  return `${machine.cpuCount} × ${machine.cpuModel}, ${memoryGiB} GiB memory, Node ${machine.nodeVersion.replace(/^v/, '')}, ${machine.os}, ${machine.date}`;
}

/** Escapes what would break a markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A markdown table; the first row is the header. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const line = (row: readonly string[]) => `| ${header.map((_, index) => cell(row[index] ?? '')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

/** One section: heading, table, notes as a list. */
export function renderSection(section: BenchSection, headingLevel = 3): string {
  const notes = section.notes ?? [];
  return [
    `${'#'.repeat(headingLevel)} ${section.title}`,
    '',
    markdownTable(section.table),
    ...(notes.length > 0 ? ['', ...notes.map((note) => `- ${note}`)] : []),
  ].join('\n');
}

/** Figures named `…Lost` that are not zero (conversations acknowledged with 200 and never stored), as `name=value`. */
export function lostFigures(figures: Readonly<Record<string, number>>): string[] {
  return Object.entries(figures)
    .filter(([name, value]) => name.endsWith('Lost') && value !== 0)
    .map(([name, value]) => `${name}=${value}`);
}

/** Dollars with enough digits to show small line items. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 100) return `$${usd.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(2)}`;
}

/** `$0.20 per million × request`, `$0.023 per GB-month`, `$0.0000133334 per GB-second`. */
export function formatPrice(price: Price): string {
  const perMillion = price.usd * 1e6;
  // Per million only when that reads as a round price; a rate like $0.0000133334 stays as written.
  const roundPerMillion = Math.abs(perMillion - Number(perMillion.toFixed(3))) < 1e-9;
  const dollars = (usd: number) => `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;
  return price.usd < 0.01 && roundPerMillion ? `${dollars(perMillion)} per million × ${price.unit}` : `${dollars(price.usd)} per ${price.unit}`;
}

function formatQuantity(quantity: number): string {
  if (quantity >= 100) return Math.round(quantity).toLocaleString('en-US');
  return quantity.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

function costRows(items: readonly CostLineItem[]): string[][] {
  return items.map((item) => [item.service, item.item, `${formatQuantity(item.quantity)} × ${item.unit}`, formatUsd(item.costUsd)]);
}

/** The cost model as a bench section (its figures: the totals). */
export function costSection(model: CostModel, notes: readonly string[]): BenchSection {
  return {
    title: 'Cost per million conversations (us-east-1, list prices)',
    table: [
      ['service', 'what', 'quantity', 'cost'],
      ...costRows(model.perMillion),
      ['**total**', 'per million conversations', '', `**${formatUsd(model.perMillionTotalUsd)}**`],
      ...costRows(model.perMonth),
      ['**total**', 'per month, whatever the traffic', '', `**${formatUsd(model.perMonthTotalUsd)}**`],
    ],
    notes,
    // costPerMillionUsd: the name issue 18 gives the same total (costPerMillionConversationsUsd stays for existing readers).
    figures: { costPerMillionConversationsUsd: round(model.perMillionTotalUsd, 2), costPerMillionUsd: round(model.perMillionTotalUsd, 2), costFixedPerMonthUsd: round(model.perMonthTotalUsd, 2) },
  };
}

/** The prices the cost model used, each with its source: a section of its own, without figures. */
export function pricesSection(prices: Prices, readOn: string): BenchSection {
  return {
    title: 'Prices used',
    table: [['price', 'source'], ...Object.values(prices).map((price) => [formatPrice(price), price.source])],
    notes: [
      `Read on ${readOn} from copies of AWS's pricing pages and articles quoting them (AWS's own pricing pages could not be fetched from the machine); first tier, no free tier. Check them against aws.amazon.com/pricing before relying on the totals.`,
    ],
    figures: {},
  };
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

/** The generated README block: machine, how to reproduce, each section. */
export function renderBenchBlock(sections: readonly BenchSection[], machine: MachineInfo): string {
  return [
    `Measured by \`npm run bench\` on ${describeMachine(machine)}.`,
    'The pipeline figures come from the embedded emulators (dynalite, fauxqs) on that one machine: they describe it, not AWS; ratios and counts carry over.',
    '',
    sections.map((section) => renderSection(section, 3)).join('\n\n'),
  ].join('\n');
}

/**
 * `readme` with the text between BENCH_BLOCK_START and BENCH_BLOCK_END replaced by `block`; everything outside the
 * markers stays byte for byte. Throws when the markers are missing, repeated or out of order.
 */
export function replaceBenchBlock(readme: string, block: string): string {
  const start = readme.indexOf(BENCH_BLOCK_START);
  const end = readme.indexOf(BENCH_BLOCK_END);
  if (start === -1 || end === -1) throw new Error(`README has no ${BENCH_BLOCK_START} … ${BENCH_BLOCK_END} block to replace`);
  if (end < start) throw new Error(`README's ${BENCH_BLOCK_END} comes before ${BENCH_BLOCK_START}`);
  if (readme.indexOf(BENCH_BLOCK_START, start + 1) !== -1 || readme.indexOf(BENCH_BLOCK_END, end + 1) !== -1) {
    throw new Error('README has more than one bench block');
  }
  return `${readme.slice(0, start + BENCH_BLOCK_START.length)}\n${block.trim()}\n${readme.slice(end)}`;
}
