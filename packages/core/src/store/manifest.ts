import { LatentflowError } from "../errors.js";
import { hashParts, sha256 } from "../hash.js";
import type { PortType } from "../ports.js";
import type { ArtifactFileInfo, ArtifactManifest } from "./artifact-store.js";

const SAFE_NAME = /^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/;

/** Checks a file name inside an artifact: relative, no `..`, no absolute paths. */
export function assertSafeFileName(name: string): void {
  if (!SAFE_NAME.test(name) || name.split("/").some((part) => part === ".." || part === "." || part === "")) {
    throw new LatentflowError("E_ARTIFACT_NAME", `artifact file name must be a relative path without '..', found '${name}'`);
  }
}

/** Builds the manifest of an artifact from its files; `hash` covers type, names and contents. */
export function buildManifest(key: string, type: PortType, files: Record<string, Uint8Array>, info?: Record<string, unknown>): ArtifactManifest {
  const infos: ArtifactFileInfo[] = Object.keys(files)
    .sort()
    .map((name) => {
      assertSafeFileName(name);
      const bytes = files[name]!;
      return { name, size: bytes.byteLength, sha256: sha256(bytes) };
    });
  const hash = hashParts("artifact/v1", type, ...infos.flatMap((f) => [f.name, f.sha256]));
  const size = infos.reduce((s, f) => s + f.size, 0);
  return { key, type, hash, files: infos, size, createdAt: new Date().toISOString(), ...(info ? { info } : {}) };
}

/** How an artifact is named in messages: its key and, when the manifest records it, the step that made it. */
export function describeArtifact(manifest: Pick<ArtifactManifest, "key" | "info">): string {
  const step = manifest.info?.step;
  return typeof step === "string" ? `artifact ${manifest.key} (output of step '${step}')` : `artifact ${manifest.key}`;
}

/**
 * The error of a stored file that is not what its manifest recorded (`found` says how), naming the artifact,
 * its step and file, with the repairs that work.
 */
export function corruptArtifact(manifest: Pick<ArtifactManifest, "key" | "info">, name: string, location: string, found: string): LatentflowError {
  const step = manifest.info?.step;
  const rerun = typeof step === "string" ? `latentflow run --force --only ${step} <pipeline>` : "latentflow run --force <pipeline>";
  return new LatentflowError("E_ARTIFACT_CORRUPT", `${describeArtifact(manifest)}, file '${name}' in ${location}: ${found}`, {
    hint: `the stored copy was changed or damaged; delete the artifact (or run with --force) to recompute it: '${rerun}' replaces it, 'latentflow store verify --repair' deletes every damaged artifact so the next run recomputes them`,
    data: { key: manifest.key, file: name, ...(typeof step === "string" ? { step } : {}) },
  });
}

/** Throws E_ARTIFACT_CORRUPT unless `bytes` is the file the manifest recorded. */
export function verifyFile(manifest: ArtifactManifest, name: string, bytes: Uint8Array, location: string): void {
  const f = manifest.files.find((x) => x.name === name);
  if (!f) {
    throw new LatentflowError("E_ARTIFACT_MISSING", `artifact ${manifest.key} has no file '${name}' (it has ${manifest.files.map((x) => x.name).join(", ")})`);
  }
  if (bytes.byteLength !== f.size || sha256(bytes) !== f.sha256) {
    throw corruptArtifact(manifest, name, location, `expected sha256 ${f.sha256} (${f.size} bytes), found ${sha256(bytes)} (${bytes.byteLength} bytes)`);
  }
}
