import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeTextEncoderContract } from "@latentflow/contract-tests";
import { afterAll } from "vitest";
import { writeTinyOnnxModel } from "../test/tiny-onnx-model.js";
import { OnnxSentenceEncoder } from "./onnx-encoder.js";

// The tiny generated model (src/test/tiny-onnx-model.ts): no BERT-family ONNX model is reachable here.
let dir: Promise<string> | undefined;
const modelDir = () =>
  (dir ??= mkdtemp(join(tmpdir(), "latentflow-onnx-contract-")).then(async (root) => (await writeTinyOnnxModel(join(root, "tiny-minilm"))).dir));
afterAll(async () => {
  if (dir) await rm(join(await dir, ".."), { recursive: true, force: true });
});

describeTextEncoderContract({ name: "OnnxSentenceEncoder (tiny model, mean pooling)", create: async () => OnnxSentenceEncoder.load(await modelDir()) });
describeTextEncoderContract({ name: "OnnxSentenceEncoder (tiny model, max pooling, batches of 4, not normalised)", create: async () => OnnxSentenceEncoder.load(await modelDir(), { pooling: "max", normalize: false, batchSize: 4 }) });
