import { describeEncoderContract } from "@latentflow/contract-tests";
import type { ImagePayload, MediaPayload } from "@latentflow/core";
import sharp from "sharp";
import { decodeImage, type ImageInput } from "../decode/decode.js";
import { emojiPayloads } from "../test/images.js";
import { InceptionV3Features, MobileNetV2Features } from "./features.js";

// Real images: Google emoji PNGs (with alpha) as files, and some of them decoded to RGB pixels beforehand.
const files = emojiPayloads(8, 300);
const decoded: ImagePayload[] = await Promise.all(emojiPayloads(3, 900).map((p) => decodeImage(p.bytes!)));
const inputs: ImageInput[] = [...files, ...decoded];
const truncated: MediaPayload = { kind: "media", mediaType: "image/png", bytes: files[0]!.bytes!.subarray(0, 300) };
// A 4000 × 3000 photo-sized JPEG made from a real emoji (the biggest input the contract asks for).
const large: MediaPayload = { kind: "media", mediaType: "image/jpeg", bytes: new Uint8Array(await sharp(files[2]!.bytes!).resize(4000, 3000).flatten({ background: "#ffffff" }).jpeg({ quality: 90 }).toBuffer()) };
const tooLarge: MediaPayload = { kind: "media", mediaType: "image/png", bytes: new Uint8Array(await sharp({ create: { width: 5000, height: 5000, channels: 3, background: "#808080" } }).png().toBuffer()) };

const refused = [
  { label: "a truncated PNG", input: truncated, code: "E_IMAGE_DECODE" },
  { label: "bytes that are no image", input: { kind: "media", mediaType: "image/png", bytes: new TextEncoder().encode("not an image at all") }, code: "E_IMAGE_DECODE" },
  { label: "a 0-byte file", input: { kind: "media", mediaType: "image/png", bytes: new Uint8Array(0) }, code: "E_EMPTY_FILE" },
  { label: "an image over the pixel limit", input: tooLarge, code: "E_IMAGE_TOO_LARGE" },
  { label: "a text payload", input: { kind: "text", text: "a cat" }, code: "E_INPUT" },
  { label: "audio media", input: { kind: "media", mediaType: "audio/wav", bytes: new Uint8Array([1, 2, 3]) }, code: "E_MEDIA_TYPE" },
];

describeEncoderContract<ImageInput>({
  name: "MobileNetV2Features (nsfwjs, default backend: onnxruntime)",
  modality: "image",
  create: () => MobileNetV2Features.load({ limitInputPixels: 20_000_000 }),
  inputs,
  refused,
  large,
  tolerance: 1e-4,
});

describeEncoderContract<ImageInput>({
  name: "MobileNetV2Features (nsfwjs, tfjs wasm)",
  modality: "image",
  create: () => MobileNetV2Features.load({ backend: "wasm", limitInputPixels: 20_000_000 }),
  inputs: inputs.slice(0, 6),
  refused: refused.slice(0, 2),
  large,
  tolerance: 1e-4,
});

describeEncoderContract<ImageInput>({
  name: "InceptionV3Features (nsfwjs, onnxruntime)",
  modality: "image",
  create: () => InceptionV3Features.load({ limitInputPixels: 20_000_000 }),
  inputs: inputs.slice(0, 6),
  refused: refused.slice(0, 1),
  large,
  tolerance: 1e-4,
});
