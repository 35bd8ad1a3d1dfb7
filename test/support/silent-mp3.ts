/**
 * A playable MP3 of silence, made here (no encoder on the machine): MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz,
 * mono, each a 4-byte header and zeroed side information and main data, which decoders play as silence. Constant
 * bit rate, so a player estimates the duration from the size and seeks by byte offset (HTTP Range requests).
 */

/** Sync word, MPEG-1, Layer III, no CRC | 128 kbit/s, 44.1 kHz, no padding | mono, original. */
const FRAME_HEADER = [0xff, 0xfb, 0x90, 0xc4] as const;
/** 144 × 128,000 / 44,100, rounded down (frames without the padding byte). */
const FRAME_BYTES = 417;
const SAMPLES_PER_FRAME = 1152;
const SAMPLE_RATE = 44_100;

/** About `seconds` of silence as MP3 bytes. */
export function silentMp3(seconds: number): Uint8Array {
  const frames = Math.ceil((seconds * SAMPLE_RATE) / SAMPLES_PER_FRAME);
  const bytes = new Uint8Array(frames * FRAME_BYTES);
  for (let frame = 0; frame < frames; frame++) bytes.set(FRAME_HEADER, frame * FRAME_BYTES);
  return bytes;
}
