import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE,
  JSON_STRING_ATTRIBUTE_TYPE,
  MalformedQueuedEventError,
  SQS_MAX_MESSAGE_BYTES,
  archiveKeyFor,
  decodeQueuedEvent,
  encodeQueuedEvent,
  toMessageAttributes,
  type EventAttributes,
  type SqsRecordLike,
} from '../../lambdas/core/ingest/queued-event.js';
import { isSqsText, sqsMessageBytes } from '../../lambdas/core/storage-limits.js';

const BUCKET = 'conversation-bucket';

const ATTRIBUTES: EventAttributes = {
  eventType: 'post_call_transcription',
  conversationId: 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m',
  agentId: 'agent_01jz8k2m4n5p6q7r8s9t0v1w2x',
  eventTimestamp: 1767268920,
  receivedAt: '2026-01-01T12:00:00.000Z',
  source: 'webhook',
  archiveKey: 'events/2026/01/01/conv_01jz9a7b6c5d4e3f2g1h0j9k8m/1767268800000-post_call_transcription-0123456789abcdef.json.gz',
  bodySha256: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
};

/** What Lambda's SQS event (and the local event-source loop) turns a sent message into. */
function asReceivedRecord(message: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> }): SqsRecordLike {
  const messageAttributes: SqsRecordLike['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes)) {
    messageAttributes[name] = { dataType: value.DataType ?? 'String', stringValue: value.StringValue };
  }
  return { body: message.MessageBody, messageAttributes };
}

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** A body that makes the inline message exactly `targetBytes` long as SQS counts it. */
function bodyOfMessageSize(targetBytes: number): string {
  const overhead = sqsMessageBytes('', toMessageAttributes(ATTRIBUTES, 'inline'));
  const prefix = '{"type":"post_call_transcription","data":{"pad":"';
  const suffix = '"}}';
  return `${prefix}${'x'.repeat(targetBytes - overhead - prefix.length - suffix.length)}${suffix}`;
}

describe('encodeQueuedEvent → decodeQueuedEvent', () => {
  it('carries a small body inline, byte for byte, with every attribute', () => {
    // Prepare
    const rawBody = '{"type":"post_call_transcription","event_timestamp":1767268920,"data":{"conversation_id":"c","note":"héllo ✓ 会话"}}';

    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, bytes(rawBody), BUCKET);
    const decoded = decodeQueuedEvent(asReceivedRecord(message));

    // Assess
    expect(message.MessageBody).toBe(rawBody);
    expect(message.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('inline');
    expect(decoded).toEqual({ attributes: ATTRIBUTES, body: { location: 'inline', rawBody } });
  });

  it('keeps optional attributes absent when the event has none', () => {
    // Prepare
    const attributes: EventAttributes = { ...ATTRIBUTES, conversationId: undefined, agentId: undefined, eventTimestamp: undefined };

    // Act
    const message = encodeQueuedEvent(attributes, bytes('{"type":"x","data":{}}'), BUCKET);
    const decoded = decodeQueuedEvent(asReceivedRecord(message));

    // Assess
    expect(Object.keys(message.MessageAttributes)).not.toContain(ATTRIBUTE.conversationId);
    expect(Object.keys(message.MessageAttributes)).not.toContain(ATTRIBUTE.eventTimestamp);
    expect(decoded.attributes).toEqual(attributes);
  });

  it('stays inline when the message is exactly the maximum size, and becomes a claim check one byte above it', () => {
    // Prepare
    const atLimit = bodyOfMessageSize(SQS_MAX_MESSAGE_BYTES);
    const overLimit = bodyOfMessageSize(SQS_MAX_MESSAGE_BYTES + 1);

    // Act
    const inline = encodeQueuedEvent(ATTRIBUTES, bytes(atLimit), BUCKET);
    const claimCheck = encodeQueuedEvent(ATTRIBUTES, bytes(overLimit), BUCKET);

    // Assess
    expect(sqsMessageBytes(inline.MessageBody, inline.MessageAttributes)).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(decodeQueuedEvent(asReceivedRecord(inline)).body).toEqual({ location: 'inline', rawBody: atLimit });
    expect(decodeQueuedEvent(asReceivedRecord(claimCheck)).body).toEqual({
      location: 's3',
      claimCheck: { bucket: BUCKET, key: ATTRIBUTES.archiveKey, encoding: 'gzip' },
    });
    expect(sqsMessageBytes(claimCheck.MessageBody, claimCheck.MessageAttributes)).toBeLessThan(2048);
  });

  it('counts multi-byte characters as bytes, not characters, at the boundary', () => {
    // Prepare: "é" is two UTF-8 bytes, so a body of N characters is N+k bytes
    const asciiBody = bodyOfMessageSize(1000);
    const withAccents = asciiBody.replace('xx', 'é');
    const oneByteMore = asciiBody.replace('x', 'é');

    // Act
    const fits = encodeQueuedEvent(ATTRIBUTES, bytes(withAccents), BUCKET, 1000);
    const tooBig = encodeQueuedEvent(ATTRIBUTES, bytes(oneByteMore), BUCKET, 1000);

    // Assess
    expect(fits.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('inline');
    expect(tooBig.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('s3');
  });

  it('sends invalid UTF-8 by claim check, since SQS text cannot carry those bytes', () => {
    // Prepare
    const invalid = new Uint8Array([...bytes('{"type":"x","data":{"a":"'), 0xc3, 0x28, ...bytes('"}}')]);

    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, invalid, BUCKET);

    // Assess
    expect(decodeQueuedEvent(asReceivedRecord(message)).body.location).toBe('s3');
  });

  it('preserves a leading byte-order mark inline, so the bytes re-encode identically', () => {
    // Prepare
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"type":"x","data":{}}')]);

    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, withBom, BUCKET);
    const decoded = decodeQueuedEvent(asReceivedRecord(message));

    // Assess
    expect(decoded.body.location).toBe('inline');
    expect(message.MessageBody.startsWith('\uFEFF')).toBe(true);
    expect(Buffer.from(message.MessageBody, 'utf8').equals(Buffer.from(withBom))).toBe(true);
  });

  it.each([
    ['NUL', '\u0000'],
    ['a C0 control (backspace)', '\u0008'],
    ['vertical tab', '\u000B'],
    ['U+FFFE', '\uFFFE'],
    ['U+FFFF', '\uFFFF'],
  ])('sends a body containing %s by claim check (SQS rejects it)', (_name, character) => {
    // Prepare
    const body = bytes(`{"type":"x","data":{"a":"${character}"}}`);

    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, body, BUCKET);

    // Assess
    expect(message.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('s3');
    expect(JSON.parse(message.MessageBody)).toEqual({ claim_check: { bucket: BUCKET, key: ATTRIBUTES.archiveKey, encoding: 'gzip' } });
  });

  it('keeps tabs, newlines, carriage returns and other scripts inline', () => {
    // Prepare
    const rawBody = '{\t"type":"x",\r\n"data":{"cjk":"会话","accent":"é"}}';

    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, bytes(rawBody), BUCKET);

    // Assess
    expect(message.MessageBody).toBe(rawBody);
  });

  it('sends a body with characters beyond U+FFFF (emoji) by claim check, which every SQS implementation takes', () => {
    // Act
    const message = encodeQueuedEvent(ATTRIBUTES, bytes('{"type":"x","data":{"emoji":"🎧"}}'), BUCKET);

    // Assess
    expect(message.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('s3');
  });
});

describe('identifiers SQS refuses in attribute values', () => {
  it.each([
    ['a control character', 'conv\u0001id'],
    ['NUL and U+FFFF', 'conv\u0000\uFFFF'],
    ['U+FFFE and a lone surrogate', 'conv\uFFFE\uD800'],
  ])('travel escaped (%s) as String.json, only characters SQS allows, and decode to the same identifiers', (_case, identifier) => {
    // Prepare
    const attributes: EventAttributes = { ...ATTRIBUTES, conversationId: identifier, agentId: `agent${identifier}`, eventType: `type${identifier}` };

    // Act
    const message = encodeQueuedEvent(attributes, bytes('{"type":"x","data":{}}'), BUCKET);
    const decoded = decodeQueuedEvent(asReceivedRecord(message));

    // Assess
    for (const name of [ATTRIBUTE.conversationId, ATTRIBUTE.agentId, ATTRIBUTE.eventType]) {
      expect(message.MessageAttributes[name]?.DataType, name).toBe(JSON_STRING_ATTRIBUTE_TYPE);
      expect(isSqsText(message.MessageAttributes[name]?.StringValue ?? ''), name).toBe(true);
    }
    expect(message.MessageAttributes[ATTRIBUTE.source]?.DataType).toBe('String');
    expect(decoded.attributes).toEqual(attributes);
  });

  it('leaves identifiers SQS takes as plain String attributes (every message queued before this change among them)', () => {
    const message = encodeQueuedEvent({ ...ATTRIBUTES, conversationId: 'conv 😀 "quoted"' }, bytes('{}'), BUCKET);
    expect(message.MessageAttributes[ATTRIBUTE.conversationId]).toEqual({ DataType: 'String', StringValue: 'conv 😀 "quoted"' });
    expect(decodeQueuedEvent(asReceivedRecord(message)).attributes.conversationId).toBe('conv 😀 "quoted"');
  });
});

describe('decodeQueuedEvent on a broken record', () => {
  const valid = asReceivedRecord(encodeQueuedEvent(ATTRIBUTES, bytes('{"type":"x","data":{}}'), BUCKET));
  const claimCheck = asReceivedRecord(encodeQueuedEvent(ATTRIBUTES, bytes('{"a":"\u0000"}'), BUCKET));

  function without(record: SqsRecordLike, name: string): SqsRecordLike {
    const { [name]: _removed, ...rest } = record.messageAttributes;
    return { ...record, messageAttributes: rest };
  }
  function withAttribute(record: SqsRecordLike, name: string, value: string): SqsRecordLike {
    return { ...record, messageAttributes: { ...record.messageAttributes, [name]: { dataType: 'String', stringValue: value } } };
  }

  it.each([
    ['the source is missing', without(valid, ATTRIBUTE.source)],
    ['the source is unknown', withAttribute(valid, ATTRIBUTE.source, 'email')],
    ['the event type is missing', without(valid, ATTRIBUTE.eventType)],
    ['the event type is empty', withAttribute(valid, ATTRIBUTE.eventType, '')],
    ['the received time is missing', without(valid, ATTRIBUTE.receivedAt)],
    ['the archive key is missing', without(valid, ATTRIBUTE.archiveKey)],
    ['the body hash is missing', without(valid, ATTRIBUTE.bodySha256)],
    ['the body location is missing', without(valid, ATTRIBUTE.bodyLocation)],
    ['the body location is unknown', withAttribute(valid, ATTRIBUTE.bodyLocation, 'dynamodb')],
    ['the claim check is not JSON', { ...claimCheck, body: 'not json' }],
    ['the claim check has no key', { ...claimCheck, body: JSON.stringify({ claim_check: { bucket: BUCKET, encoding: 'gzip' } }) }],
    ['the claim check has another encoding', { ...claimCheck, body: JSON.stringify({ claim_check: { bucket: BUCKET, key: 'k', encoding: 'br' } }) }],
    ['the claim check is absent', { ...claimCheck, body: '{}' }],
  ])('throws MalformedQueuedEventError when %s', (_case, record) => {
    // Act & Assess
    expect(() => decodeQueuedEvent(record)).toThrow(MalformedQueuedEventError);
  });
});

describe('archiveKeyFor', () => {
  it('files events by received day and conversation, with time, type and hash prefix in the name', () => {
    // Act
    const key = archiveKeyFor({
      receivedAt: new Date('2026-01-02T03:04:05.678Z'),
      conversationId: 'conv_1',
      eventType: 'post_call_audio',
      bodySha256: 'abcdef0123456789ffff',
    });

    // Assess
    expect(key).toBe('events/2026/01/02/conv_1/1767323045678-post_call_audio-abcdef0123456789.json.gz');
  });

  it('replaces unsafe characters and names a missing conversation _unknown', () => {
    // Act
    const unsafe = archiveKeyFor({ receivedAt: new Date(0), conversationId: '../a b/c', eventType: 'x/y', bodySha256: '0'.repeat(64) });
    const missing = archiveKeyFor({ receivedAt: new Date(0), eventType: 'x', bodySha256: '0'.repeat(64) });

    // Assess
    expect(unsafe).toBe('events/1970/01/01/.._a_b_c/0-x_y-0000000000000000.json.gz');
    expect(missing).toBe('events/1970/01/01/_unknown/0-x-0000000000000000.json.gz');
  });
});
