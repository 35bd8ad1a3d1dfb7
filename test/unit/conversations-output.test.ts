/** What `conversations get` and `list` say about a conversation's recording. */
import { describe, expect, it } from 'vitest';
import { audioState, audioSummary } from '../../bin/cli/conversations-output.js';
import type { ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';

const base: ConversationRecord = {
  conversation_id: 'conv_x',
  sources: ['webhook'],
  event_types: ['post_call_transcription'],
  events: [],
  first_received_at: '2026-01-01T00:00:00.000Z',
  last_received_at: '2026-01-01T00:00:00.000Z',
  record_version: 1,
  updated_at: '2026-01-01T00:00:00.000Z',
};
const audio = (source?: 'webhook' | 'poller') => ({ s3_key: 'audio/conv_x/a.mp3', bytes: 1234, content_type: 'audio/mpeg', event_data: {}, ...(source === undefined ? {} : { source }) });

describe('the recording of a conversation', () => {
  it.each<[string, ConversationRecord, string, string]>([
    ['stored by webhook', { ...base, has_audio: true, audio: audio('webhook') }, 'yes', 'stored, 1234 bytes (audio/mpeg), by webhook'],
    ['back-filled', { ...base, has_audio: true, audio: audio('poller') }, 'yes', 'stored, 1234 bytes (audio/mpeg), back-filled from the API'],
    ['stored before sources were recorded', { ...base, audio: audio() }, 'yes', 'stored, 1234 bytes (audio/mpeg), source not recorded'],
    ['known absent', { ...base, has_audio: true, audio_unavailable: { status_code: 404 } }, 'none', 'none: ElevenLabs has no recording (HTTP 404)'],
    ['not stored yet', { ...base, has_audio: true }, 'missing', 'missing: ElevenLabs has one; the poller stores it once the call has settled'],
    ['not recorded', { ...base, has_audio: false }, 'no', 'no (not recorded)'],
  ])('%s', (_name, record, state, summary) => {
    expect(audioState(record)).toBe(state);
    expect(audioSummary(record)).toBe(summary);
  });
});
