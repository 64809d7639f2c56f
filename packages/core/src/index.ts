export { LatentflowAggregateError, LatentflowError, fail, isLatentflowError, type ErrorDetails, type SourceLocation } from "./errors.js";
export { canonicalJson, hashParts, sha256, sha256File } from "./hash.js";
export { METRICS, assertSameSpace, defineSpace, spaceMismatch, type Metric, type Modality, type Producer, type Space } from "./space.js";
export {
  assertFinite,
  concatVectorSets,
  createVectorSet,
  rowCount,
  sliceVectorSet,
  vectorAt,
  type RowMeta,
  type VectorSet,
  type VectorSetInput,
} from "./vector-set.js";
export { PORT_TYPES, codecFor, isShardable, type ArtifactFiles, type ModelArtifact, type PortCodec, type PortType, type PortTypes } from "./ports.js";
export {
  PluginRegistry,
  definePlugin,
  defineStep,
  type InputValues,
  type Logger,
  type OutputValues,
  type Plugin,
  type PortSpec,
  type PortsSpec,
  type SkippedItem,
  type StepContext,
  type StepDefinition,
  type StepResources,
} from "./plugin.js";
export { createRng, seedInt, stepSeed, type Rng } from "./rng.js";
export * from "./contracts/index.js";
export {
  ITEM_KINDS,
  checkItem,
  imageValues,
  mediaItem,
  textItem,
  type ArtifactRef,
  type AudioPayload,
  type ImagePayload,
  type Item,
  type ItemKind,
  type ItemPayload,
  type MediaPayload,
  type TextPayload,
} from "./items.js";
export { createMedia, type Media } from "./media/media.js";
export { extensionFor, sniffMediaType } from "./media/sniff.js";
export { checkMediaContainer } from "./media/check.js";
export { ResourceCache, type ResourceStats } from "./resources.js";
export { workerUrl } from "./worker-url.js";
export type { ArtifactFileInfo, ArtifactManifest, ArtifactStore, PutItem, PutOptions, StoreLocator } from "./store/artifact-store.js";
export { FsArtifactStore, writeFileAtomic } from "./store/fs-store.js";
export { buildManifest, corruptArtifact, describeArtifact, verifyFile } from "./store/manifest.js";
export { PIPELINE_LIMITS, parseDuration, parsePipeline, parsePipelinePartial, type InputRef, type OnError, type PipelineSpec, type StepSpec } from "./pipeline/spec.js";
export { loadPipelineFile, loadPipelineText, planPipeline, type Plan, type PlanNode, type ResolvedInput } from "./pipeline/validate.js";
export { paramsJsonSchema, pipelineJsonSchema } from "./pipeline/json-schema.js";
export { inputFile, isInputFile, missingInputFiles } from "./pipeline/input-files.js";
export { silentLogger, type Executor, type RunEvent, type RunOptions } from "./executor/executor.js";
export { LocalExecutor } from "./executor/local.js";
// The engine's parts for executor authors (launchers such as @latentflow/queue): `@latentflow/core/engine`.
export { loadArtifactValue } from "./executor/step-runner.js";
export { FsRunStore, checkRunId, isRunId, newRunId, type OutputRecord, type RunRecord, type RunStatus, type RunStore, type StepRecord, type StepStatus } from "./runs/run-record.js";
export { corePlugin } from "./steps/plugin.js";
export { VERSION } from "./version.js";
