// Public API of @latentflow/onnx-runtime.
export { ORT_INSTALL_HINT, loadOnnxRuntime } from "./runtime.js";
export * from "./onnx-proto.js";
