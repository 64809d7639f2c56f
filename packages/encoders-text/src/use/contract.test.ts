import { describeTextEncoderContract } from "@latentflow/contract-tests";
import { UniversalSentenceEncoder } from "./use.js";

describeTextEncoderContract({
  name: "UniversalSentenceEncoder (default backend: onnxruntime)",
  create: () => UniversalSentenceEncoder.load(),
});
describeTextEncoderContract({
  name: "UniversalSentenceEncoder (wasm, 2 worker threads)",
  create: () => UniversalSentenceEncoder.load({ threads: 2, backend: "wasm" }),
});
