/**
 * The one way a function reads its configuration: from an environment given to it (process.env in Lambda, an explicit
 * object locally and in tests), collecting every problem so one ConfigurationError names them all.
 */
import { isIP } from 'node:net';
import type { EnvName } from './contract.js';
import { ConfigurationError } from './errors.js';

/** An environment: variable name → value. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvReader {
  /** A non-empty value (trimmed); an empty or absent one is reported missing. */
  required(name: EnvName): string;
  /** The trimmed value, or undefined when absent or empty. */
  optional(name: EnvName): string | undefined;
  /** A whole number of seconds (digits only), or the default when absent. */
  seconds(name: EnvName, defaultValue: number): number;
  /** `true` or `false` (any case), or the default when absent. */
  flag(name: EnvName, defaultValue: boolean): boolean;
  /** An http(s) base URL without query or credentials, trailing slashes removed, or the default when absent. */
  baseUrl(name: EnvName, defaultValue: string): string;
  /** An http(s) URL (a path allowed, no credentials), or undefined when absent. */
  url(name: EnvName): string | undefined;
  /** Comma-separated IP addresses; empty when absent. */
  ipList(name: EnvName): readonly string[];
  /** Throws one ConfigurationError naming every missing and invalid variable, else returns `config` frozen. */
  done<T extends object>(config: T): Readonly<T>;
}

/** A reader over `env` for the function named `functionName` (used in the error message). */
export function createEnvReader(functionName: string, env: Environment): EnvReader {
  const missing: string[] = [];
  const invalid: string[] = [];
  const optional = (name: EnvName): string | undefined => {
    const value = env[name]?.trim() ?? '';
    return value === '' ? undefined : value;
  };
  return {
    required(name) {
      const value = optional(name);
      if (value === undefined) missing.push(name);
      return value ?? '';
    },
    optional,
    seconds(name, defaultValue) {
      const raw = optional(name);
      if (raw === undefined) return defaultValue;
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
        invalid.push(`${name} must be a whole number of seconds`);
        return defaultValue;
      }
      return Number(raw);
    },
    flag(name, defaultValue) {
      const raw = optional(name)?.toLowerCase();
      if (raw === undefined) return defaultValue;
      if (raw !== 'true' && raw !== 'false') {
        invalid.push(`${name} must be "true" or "false"`);
        return defaultValue;
      }
      return raw === 'true';
    },
    baseUrl(name, defaultValue) {
      const raw = optional(name);
      if (raw === undefined) return defaultValue;
      if (!isBaseUrl(raw)) {
        invalid.push(`${name} must be an http(s) base URL such as ${defaultValue}`);
        return defaultValue;
      }
      return raw.replace(/\/+$/, '');
    },
    url(name) {
      const raw = optional(name);
      if (raw === undefined || isHttpUrl(raw)) return raw;
      invalid.push(`${name} must be an http(s) URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/elevenlabs`);
      return undefined;
    },
    ipList(name) {
      const entries = (env[name] ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      const notIps = entries.filter((entry) => isIP(entry) === 0);
      if (notIps.length > 0) invalid.push(`${name} must list IP addresses separated by commas (not: ${notIps.join(', ')})`);
      return Object.freeze(entries);
    },
    done(config) {
      const problems = [...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []), ...invalid];
      if (problems.length > 0) throw new ConfigurationError(`${functionName} configuration is incomplete; ${problems.join('; ')}`);
      return Object.freeze(config);
    },
  };
}

function parsedHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' ? url : undefined;
  } catch {
    return undefined;
  }
}

function isHttpUrl(text: string): boolean {
  return parsedHttpUrl(text) !== undefined;
}

function isBaseUrl(text: string): boolean {
  return parsedHttpUrl(text)?.search === '';
}
