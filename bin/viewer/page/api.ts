/** The viewer's JSON API, by relative URL (the base path carries the viewer's token). */
import type { ApiError } from '../api-types.js';
import { apiHref } from './dom.js';

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GETs `api/<segments…>?params` and parses the JSON; a non-2xx answer throws with the server's `error` text. */
export async function getJson<T>(segments: readonly string[], params: URLSearchParams | undefined, signal: AbortSignal): Promise<T> {
  const response = await fetch(apiHref(segments, params), { signal, headers: { accept: 'application/json' } });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as Partial<ApiError> | undefined;
    throw new ApiRequestError(typeof body?.error === 'string' ? body.error : `the viewer answered ${response.status}`, response.status);
  }
  return (await response.json()) as T;
}
