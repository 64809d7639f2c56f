import { LatentflowError } from "../errors.js";
import type { AudioPayload } from "../items.js";

/**
 * Decoded audio → a WAV file: 16-bit PCM (default; samples clipped to [-1, 1]) or 32-bit float, channels
 * interleaved as the format wants. For files to listen to and to export; the audio encoders decode.
 */
export function encodeWav(audio: Pick<AudioPayload, "sampleRate" | "channels">, opts: { format?: "pcm16" | "float32" } = {}): Uint8Array {
  const format = opts.format ?? "pcm16";
  const ch = audio.channels.length;
  const frames = audio.channels[0]?.length ?? 0;
  if (!ch || !audio.channels.every((c) => c.length === frames)) throw new LatentflowError("E_SHAPE", "wav: expected one or more channels of one length");
  const bytesPer = format === "pcm16" ? 2 : 4;
  const dataBytes = frames * ch * bytesPer;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format === "pcm16" ? 1 : 3, true);
  v.setUint16(22, ch, true);
  const rate = Math.round(audio.sampleRate);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * ch * bytesPer, true);
  v.setUint16(32, ch * bytesPer, true);
  v.setUint16(34, bytesPer * 8, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  let at = 44;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < ch; c++) {
      const s = audio.channels[c]![f]!;
      if (format === "float32") v.setFloat32(at, s, true);
      else v.setInt16(at, Math.round(Math.max(-1, Math.min(1, s)) * 32767), true);
      at += bytesPer;
    }
  }
  return out;
}
