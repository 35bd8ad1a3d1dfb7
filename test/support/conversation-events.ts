/**
 * Builds post-call events and publishes them through the production publish path (gzip archive object first, then the
 * SQS message), and turns SQS messages into the Lambda event the consumer receives.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { publishEvent, type QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import type { EventAttributes, EventSource } from '../../lambdas/core/ingest/queued-event.js';
import { parseWebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';

export type JsonObject = { [key: string]: unknown };

export const AGENT_ID = 'agent_01jz8k2m4n5p6q7r8s9t0v1w2x';

/** A post_call_transcription `data` in the GET-conversation shape, with nulls, floats, nested maps and unknown fields. */
export function transcriptionData(conversationId: string, overrides: { startTime?: number; agentId?: string; status?: string; summary?: string; turns?: number; extra?: JsonObject } = {}): JsonObject {
  const turns = overrides.turns ?? 3;
  return {
    agent_id: overrides.agentId ?? AGENT_ID,
    agent_name: 'Front Desk Assistant',
    conversation_id: conversationId,
    status: overrides.status ?? 'done',
    user_id: 'crm-contact-48213',
    branch_id: null,
    version_id: null,
    transcript: Array.from({ length: turns }, (_, index) => ({
      role: index % 2 === 0 ? 'agent' : 'user',
      agent_metadata: index % 2 === 0 ? { agent_id: AGENT_ID, branch_id: null, workflow_node_id: null, version_id: null } : null,
      message: `turn ${index}: ${index % 2 === 0 ? 'How can I help you today?' : "I'd like to book a cleaning."}`,
      tool_calls: index === 2 ? [{ type: 'webhook', request_id: 'toolu_7f3c2a', tool_name: 'check_availability', params_as_json: '{"date": "2026-01-06"}', tool_has_been_called: true, tool_details: { type: 'webhook', method: 'POST', url: 'https://example.invalid/tools', headers: {}, body: '' } }] : [],
      tool_results: index === 2 ? [{ type: 'webhook', request_id: 'toolu_7f3c2a', result_value: '{"slots": ["09:00"]}', is_error: false, tool_latency_secs: 0.41, dynamic_variable_updates: [] }] : [],
      feedback: null,
      time_in_call_secs: index * 2,
      conversation_turn_metrics: index === 2 ? { metrics: { convai_llm_service_ttfb: { elapsed_time: 0.37 } } } : null,
      interrupted: false,
      source_medium: 'audio',
      future_turn_field: { nested: [1, 2.5, 'x', null, true] },
    })),
    metadata: {
      start_time_unix_secs: overrides.startTime ?? 1767268860,
      accepted_time_unix_secs: (overrides.startTime ?? 1767268860) + 1,
      call_duration_secs: 38,
      cost: 412,
      cost_fiat: 0.0412,
      deletion_settings: { deletion_time_unix_secs: 1830340860, deleted_logs_at_time_unix_secs: null, delete_transcript_and_pii: true, delete_audio: true },
      feedback: { type: 'thumbs', overall_score: 'like', likes: 1, dislikes: 0, rating: null, comment: null },
      charging: { dev_discount: false, is_burst: false, tier: 'pro', llm_price: 0.0031, llm_charge: 12, call_charge: 400 },
      phone_call: { type: 'twilio', direction: 'inbound', phone_number_id: 'phnum_01', agent_number: '+15555550100', external_number: '+15555550199', call_sid: 'CA00' },
      batch_call: null,
      termination_reason: 'end_call tool was called.',
      error: null,
      warnings: [],
      main_language: 'en',
      text_only: false,
      timezone: 'America/New_York',
      a_field_elevenlabs_adds_later: { value: '' },
    },
    analysis: {
      evaluation_criteria_results: { appointment_booked: { criteria_id: 'appointment_booked', result: 'success', rationale: 'Accepted 10:30.' } },
      data_collection_results: { requested_service: { data_collection_id: 'requested_service', value: 'cleaning', json_schema: { type: 'string' }, rationale: 'Asked for a cleaning.' } },
      call_successful: 'success',
      transcript_summary: overrides.summary ?? 'The caller booked a cleaning.',
      call_summary_title: 'Cleaning booked',
      call_success_score: 0.93,
    },
    conversation_initiation_client_data: {
      conversation_config_override: { agent: { prompt: null, language: 'en' }, tts: { voice_id: null } },
      custom_llm_extra_body: {},
      user_id: 'crm-contact-48213',
      dynamic_variables: { customer_name: 'Jordan', system__caller_id: '+15555550199' },
    },
    has_audio: true,
    has_user_audio: true,
    has_response_audio: true,
    has_auxiliary_audio: false,
    visited_agents: [],
    tag_ids: [],
    ...overrides.extra,
  };
}

export function audioData(conversationId: string, mp3: Uint8Array): JsonObject {
  return { agent_id: AGENT_ID, conversation_id: conversationId, full_audio: Buffer.from(mp3).toString('base64') };
}

export function failureData(conversationId: string, reason = 'no-answer'): JsonObject {
  return {
    agent_id: AGENT_ID,
    conversation_id: conversationId,
    failure_reason: reason,
    metadata: { type: 'sip', body: { sip_status_code: 480, error_reason: 'Temporarily Unavailable', call_sid: '5b1f0c7e', sip_status: 'Temporarily Unavailable' } },
  };
}

/** The raw body bytes of an envelope, as ElevenLabs would send it. */
export function envelope(type: string, data: JsonObject, eventTimestamp?: number): Uint8Array {
  return Buffer.from(JSON.stringify(eventTimestamp === undefined ? { type, data } : { type, event_timestamp: eventTimestamp, data }), 'utf8');
}

/** The production hash, so a test's expected body hash is computed exactly as the pipeline computes it. */
export { sha256Hex } from '../../lambdas/core/hash.js';

export interface PublishedEvent {
  readonly rawBody: Uint8Array;
  readonly attributes: EventAttributes;
  readonly message: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> };
}

/**
 * Publishes the body through the production publish path (archive first, then the message), capturing the SQS message
 * instead of sending it, so a test can deliver it to the consumer itself.
 */
export async function archiveAndEncode(
  rawBody: Uint8Array,
  options: { source?: EventSource; receivedAt?: Date; s3: S3Client; bucketName: string },
): Promise<PublishedEvent> {
  let message: QueuedMessage | undefined;
  const attributes = await publishEvent(
    { rawBody, event: parseWebhookEvent(Buffer.from(rawBody).toString('utf8')), source: options.source ?? 'webhook', receivedAt: options.receivedAt ?? new Date('2026-01-01T12:00:00.000Z') },
    {
      bucketName: options.bucketName,
      putArchiveObject: async (key, gzipBody) => {
        await options.s3.send(new PutObjectCommand({ Bucket: options.bucketName, Key: key, Body: gzipBody, ContentType: 'application/json', ContentEncoding: 'gzip' }));
      },
      deleteArchiveObject: async (key) => {
        await options.s3.send(new DeleteObjectCommand({ Bucket: options.bucketName, Key: key }));
      },
      sendMessage: async (encoded) => {
        message = encoded;
      },
    },
  );
  if (message === undefined) throw new Error('publishEvent sent no message');
  return { rawBody, attributes, message };
}

let messageCounter = 0;

/** The Lambda SQS record for a message received from the queue, or for an encoded message sent straight to the handler. */
export function toSqsRecord(message: Pick<Message, 'MessageAttributes'> & Partial<Pick<Message, 'Body' | 'MessageId' | 'ReceiptHandle' | 'Attributes'>> & { MessageBody?: string }): SQSRecord {
  const messageId = message.MessageId ?? `message-${++messageCounter}`;
  return {
    messageId,
    receiptHandle: message.ReceiptHandle ?? `receipt-${messageId}`,
    body: message.Body ?? message.MessageBody ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType ?? 'String' }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** A deterministic pseudo-random byte buffer (stands in for an MP3). */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}
