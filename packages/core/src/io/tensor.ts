import { LatentflowError } from "../errors.js";

/** Element types the array formats (NPY, IDX) are read into. */
export type DType = "float32" | "float64" | "int32" | "uint8" | "int8" | "int16" | "uint16" | "uint32" | "int64";

export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "uint8", "int8", "int16", "uint16", "uint32", "int64"];

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array;

/** An n-dimensional array in C (row-major) order; `data.length` equals the product of `shape`. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor;

const CONSTRUCTORS: Record<DType, TypedArrayConstructor> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
};

/** The typed-array constructor holding elements of `dtype`. */
export function typedArrayConstructor(dtype: DType): TypedArrayConstructor {
  const ctor = CONSTRUCTORS[dtype];
  if (!ctor) throw new LatentflowError("E_DTYPE", `expected a dtype among ${DTYPES.join(", ")}, found '${String(dtype)}'`);
  return ctor;
}

/** Bytes per element of `dtype`. */
export function bytesPerElement(dtype: DType): number {
  return typedArrayConstructor(dtype).BYTES_PER_ELEMENT;
}

/** The dtype a typed array holds, or undefined for arrays no format here stores (Uint8ClampedArray, BigUint64Array…). */
export function dtypeOf(data: ArrayBufferView): DType | undefined {
  for (const d of DTYPES) {
    // Exact constructor match: a Uint8ClampedArray is not a Uint8Array and must not pass for one.
    if (data.constructor === CONSTRUCTORS[d]) return d;
  }
  return undefined;
}

/** Number of elements of an array of this shape (1 for a scalar, shape []). */
export function tensorSize(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new LatentflowError("E_SHAPE", `expected non-negative integer dimensions, found shape [${shape.join(", ")}]`);
    }
    n *= s;
  }
  return n;
}

/** A zero-filled typed array of `length` elements of `dtype`. */
export function allocTypedArray(dtype: DType, length: number): TypedArray {
  return new (typedArrayConstructor(dtype))(length);
}

/**
 * A typed array of `dtype` viewing `byteLength/itemsize` elements of `bytes` from `byteOffset`, copied when the
 * offset is not a multiple of the element size (typed arrays cannot view unaligned memory).
 */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array, byteOffset: number, length: number): TypedArray {
  const ctor = typedArrayConstructor(dtype);
  const start = bytes.byteOffset + byteOffset;
  if (start % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer as ArrayBuffer, start, length);
  const out = new ctor(length);
  new Uint8Array(out.buffer).set(bytes.subarray(byteOffset, byteOffset + length * ctor.BYTES_PER_ELEMENT));
  return out;
}

/** Builds a Tensor, checking that the data's type matches `dtype` and its length matches `shape`. */
export function createTensor(dtype: DType, shape: readonly number[], data?: TypedArray): Tensor {
  const size = tensorSize(shape);
  const arr = data ?? allocTypedArray(dtype, size);
  assertTensor({ dtype, shape: [...shape], data: arr }, "tensor");
  return { dtype, shape: [...shape], data: arr };
}

/** Throws unless the tensor's data type and length agree with its dtype and shape. `where` names the caller. */
export function assertTensor(t: Tensor, where: string): void {
  const found = dtypeOf(t.data);
  if (found !== t.dtype) {
    throw new LatentflowError(
      "E_DTYPE",
      `${where}: dtype '${t.dtype}' expects a ${typedArrayConstructor(t.dtype).name}, found ${t.data.constructor.name}`,
      { hint: "build the data with the typed array of the declared dtype (int64 uses BigInt64Array)" },
    );
  }
  const size = tensorSize(t.shape);
  if (t.data.length !== size) {
    throw new LatentflowError(
      "E_SHAPE",
      `${where}: shape [${t.shape.join(", ")}] holds ${size} elements, found data of length ${t.data.length}`,
      { data: { expected: size, found: t.data.length } },
    );
  }
}

/** True on the (practically universal) little-endian hosts; the NPY writer relies on it to copy bytes as they are. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The tensor's values as float32, whatever its dtype: int64 (BigInt64Array) goes through Number, so
 * integers beyond 2^24 round as they do from int32. Float32 data is returned as is.
 */
export function toFloat32(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  const out = new Float32Array(t.data.length);
  if (t.data instanceof BigInt64Array) {
    const src = t.data;
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  } else out.set(t.data);
  return out;
}
