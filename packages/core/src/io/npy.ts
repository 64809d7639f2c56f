import { readFile, writeFile } from "node:fs/promises";
import { LatentflowError } from "../errors.js";
import { assertTensor, bytesPerElement, HOST_LITTLE_ENDIAN, tensorSize, typedArrayFromBytes, type DType, type Tensor } from "./tensor.js";

// The format is specified in numpy/lib/format.py (NEP 1); constants below are numpy's.
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const MAGIC_LEN = 8; // magic + major + minor version bytes
const ARRAY_ALIGN = 64;
// numpy pads the header so the first axis can grow in place to 21 digits; matching it makes our files byte-identical to np.save's.
const GROWTH_AXIS_MAX_DIGITS = 21;

const DESCR_BY_DTYPE: Record<DType, string> = {
  float32: "<f4",
  float64: "<f8",
  int32: "<i4",
  uint8: "|u1",
  int8: "|i1",
  int16: "<i2",
  uint16: "<u2",
  uint32: "<u4",
  int64: "<i8",
};

const DTYPE_BY_TYPECODE: Record<string, DType> = {
  f4: "float32",
  f8: "float64",
  i4: "int32",
  u1: "uint8",
  i1: "int8",
  i2: "int16",
  u2: "uint16",
  u4: "uint32",
  i8: "int64",
};

const SUPPORTED = Object.values(DESCR_BY_DTYPE).join(", ");

/**
 * Reads a NumPy `.npy` file (format 1.0, 2.0 or 3.0; little-endian, C order). The returned data views `bytes`
 * when it is aligned and is a copy otherwise. Bytes after the array are ignored, as numpy does, since several
 * arrays may be saved back to back in one file. `file` names the source in error messages.
 */
export function parseNpy(bytes: Uint8Array, file?: string): Tensor {
  const where = file ?? "npy data";
  if (bytes.length < MAGIC_LEN + 2 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
    throw new LatentflowError(
      "E_NPY_FORMAT",
      bytes.length < MAGIC_LEN + 2
        ? `${where}: expected an NPY header of at least ${MAGIC_LEN + 2} bytes, found ${bytes.length} bytes`
        : `${where}: expected the NPY magic "\\x93NUMPY" at byte 0, found ${hexPreview(bytes, 0, 6)}`,
      {
        hint: zip
          ? "this is a zip archive (.npz); unzip it and read the .npy member you need"
          : "write the array with numpy.save(path, array) — not pickle, .npz, or tofile()",
        data: { file },
      },
    );
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) {
    throw new LatentflowError("E_NPY_UNSUPPORTED", `${where}: expected NPY format version 1.0, 2.0 or 3.0, found ${major}.${minor}`, {
      hint: "save with a current numpy; numpy.lib.format.write_array(f, a, version=(1, 0)) pins the oldest version",
      data: { file, version: `${major}.${minor}` },
    });
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < MAGIC_LEN + lenBytes) {
    throw truncated(where, file, MAGIC_LEN + lenBytes, bytes.length, "header length");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(MAGIC_LEN, true) : view.getUint32(MAGIC_LEN, true);
  const dataOffset = MAGIC_LEN + lenBytes + headerLen;
  if (bytes.length < dataOffset) throw truncated(where, file, dataOffset, bytes.length, "header");
  const headerBytes = bytes.subarray(MAGIC_LEN + lenBytes, dataOffset);
  // Versions 1 and 2 store the header as latin1; version 3 switched to UTF-8 for structured field names.
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(headerBytes);
  const { dtype, shape } = parseHeader(header, where, file);

  const size = tensorSize(shape);
  const need = size * bytesPerElement(dtype);
  if (bytes.length - dataOffset < need) {
    throw new LatentflowError(
      "E_NPY_FORMAT",
      `${where}: expected ${need} data bytes for a ${dtype} array of shape [${shape.join(", ")}], found ${bytes.length - dataOffset}`,
      { hint: "the file is truncated; re-copy or re-save it", data: { file, expected: need, found: bytes.length - dataOffset } },
    );
  }
  return { dtype, shape, data: typedArrayFromBytes(dtype, bytes, dataOffset, size) };
}

/** Encodes a tensor as a `.npy` file byte-identical to what numpy.save writes for the same array. */
export function encodeNpy(t: Tensor): Uint8Array {
  assertTensor(t, "encoding npy");
  if (!HOST_LITTLE_ENDIAN) {
    throw new LatentflowError("E_NPY_UNSUPPORTED", "encoding npy: this writer copies memory as is and needs a little-endian host");
  }
  const shapeRepr = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let dict = `{'descr': '${DESCR_BY_DTYPE[t.dtype]}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (t.shape.length > 0) dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length);
  // Header + its newline is padded with spaces so the data starts on a 64-byte boundary (numpy adds a full 64 when already aligned).
  let lenBytes = 2;
  let padded = 0;
  for (;;) {
    const hlen = dict.length + 1;
    padded = hlen + (ARRAY_ALIGN - ((MAGIC_LEN + lenBytes + hlen) % ARRAY_ALIGN));
    if (lenBytes === 2 && padded > 0xffff) {
      lenBytes = 4; // version 2.0: only when the header outgrows a uint16 length, as numpy decides
      continue;
    }
    break;
  }
  const dataOffset = MAGIC_LEN + lenBytes + padded;
  const out = new Uint8Array(dataOffset + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = lenBytes === 2 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (lenBytes === 2) view.setUint16(MAGIC_LEN, padded, true);
  else view.setUint32(MAGIC_LEN, padded, true);
  const headerStart = MAGIC_LEN + lenBytes;
  for (let i = 0; i < dict.length; i++) out[headerStart + i] = dict.charCodeAt(i);
  out.fill(0x20, headerStart + dict.length, dataOffset - 1);
  out[dataOffset - 1] = 0x0a;
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataOffset);
  return out;
}

/** Reads a `.npy` file from disk. */
export async function readNpyFile(path: string): Promise<Tensor> {
  return parseNpy(await readFile(path), path);
}

/** Writes a tensor as a `.npy` file. */
export async function writeNpyFile(path: string, t: Tensor): Promise<void> {
  await writeFile(path, encodeNpy(t));
}

/** Reads the Python dict literal numpy writes, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseHeader(header: string, where: string, file: string | undefined): { dtype: DType; shape: number[] } {
  const shown = header.trim();
  const bad = (what: string): LatentflowError =>
    new LatentflowError("E_NPY_FORMAT", `${where}: expected ${what} in the NPY header, found ${JSON.stringify(shown)}`, {
      hint: "the header is not one numpy writes; re-save the array with numpy.save",
      data: { file, header: shown },
    });
  if (!shown.startsWith("{") || !shown.endsWith("}")) throw bad("a dict literal");

  const descrMatch = /['"]descr['"]\s*:\s*(?:'([^']*)'|"([^"]*)"|(\[))/.exec(header);
  if (!descrMatch) throw bad("a 'descr' entry");
  if (descrMatch[3]) {
    throw new LatentflowError("E_NPY_UNSUPPORTED", `${where}: expected a plain numeric dtype (${SUPPORTED}), found a structured dtype`, {
      hint: "save each field as its own array: numpy.save('x.npy', a['field'])",
      data: { file, header: shown },
    });
  }
  const descr = descrMatch[1] ?? descrMatch[2] ?? "";
  const dtype = dtypeFromDescr(descr, where, file);

  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortranMatch) throw bad("a 'fortran_order' entry (True or False)");
  if (fortranMatch[1] === "True") {
    throw new LatentflowError("E_NPY_UNSUPPORTED", `${where}: expected C (row-major) order, found fortran_order True`, {
      hint: "save a C-ordered copy: numpy.save(path, numpy.ascontiguousarray(a))",
      data: { file },
    });
  }

  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) throw bad("a 'shape' tuple");
  const parts = shapeMatch[1]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const shape: number[] = [];
  for (const p of parts) {
    // "L" is the Python 2 long suffix old numpy versions wrote.
    const m = /^(\d+)L?$/.exec(p);
    if (!m) throw bad("non-negative integers in 'shape'");
    shape.push(Number(m[1]));
  }
  return { dtype, shape };
}

function dtypeFromDescr(descr: string, where: string, file: string | undefined): DType {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const code = m ? `${m[2]}${m[3]}` : undefined;
  const dtype = code ? DTYPE_BY_TYPECODE[code] : undefined;
  if (!m || !dtype) {
    throw new LatentflowError("E_NPY_UNSUPPORTED", `${where}: expected a dtype among ${SUPPORTED}, found '${descr}'`, {
      hint: "convert before saving, e.g. numpy.save(path, a.astype('<f4'))",
      data: { file, descr },
    });
  }
  // A byte order on one-byte types means nothing; on wider types only little-endian (or native, which numpy never writes) is read.
  if (m[1] === ">" && bytesPerElement(dtype) > 1) {
    throw new LatentflowError("E_NPY_UNSUPPORTED", `${where}: expected little-endian data ('<${code}'), found big-endian '${descr}'`, {
      hint: `convert before saving: numpy.save(path, a.astype('<${code}'))`,
      data: { file, descr },
    });
  }
  return dtype;
}

function truncated(where: string, file: string | undefined, expected: number, found: number, part: string): LatentflowError {
  return new LatentflowError("E_NPY_FORMAT", `${where}: expected at least ${expected} bytes to hold the NPY ${part}, found ${found}`, {
    hint: "the file is truncated; re-copy or re-save it",
    data: { file, expected, found },
  });
}

function hexPreview(bytes: Uint8Array, start: number, n: number): string {
  const shown = Array.from(bytes.subarray(start, start + n), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return shown === "" ? "no bytes" : `bytes ${shown}`;
}
