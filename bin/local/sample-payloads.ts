/**
 * The sample webhook payloads in bin/local/samples/: ElevenLabs' documented post-call shapes with every identifier,
 * name, number and recording made up. `send-webhook --sample` posts them, the fake ElevenLabs API builds its sample
 * conversations from them, and the tests and benchmarks use them as realistic bodies.
 */
import { readFileSync } from 'node:fs';

export const SAMPLE_EVENT_TYPES = ['post_call_transcription', 'post_call_audio', 'call_initiation_failure'] as const;
export type SampleEventType = (typeof SAMPLE_EVENT_TYPES)[number];

/** The directory holding `<event type>.json` for each sample. */
export const SAMPLE_PAYLOADS_DIRECTORY = new URL('./samples/', import.meta.url);

/** Where the sample of `type` is. */
export function samplePayloadUrl(type: SampleEventType): URL {
  return new URL(`${type}.json`, SAMPLE_PAYLOADS_DIRECTORY);
}

/** The exact bytes of a sample payload (a fresh copy on every call). */
export function readSamplePayload(type: SampleEventType): Buffer {
  return readFileSync(samplePayloadUrl(type));
}
