import protobuf from "protobufjs";

// The part of onnx.proto (ONNX IR, https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) the graphs built
// in this package need. Field numbers are the official ones (checked against onnx-proto 8.0.1's generated
// code); enums are written as their int32 values and oneofs as plain fields, which is wire-compatible.
const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message AttributeProto { string name = 1; float f = 2; int64 i = 3; bytes s = 4; repeated float floats = 7; repeated int64 ints = 8; int32 type = 20; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; string producer_version = 3; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message TensorShapeProto { message Dimension { int64 dim_value = 1; string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; } Tensor tensor_type = 1; }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

/** TensorProto.DataType values. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
/** AttributeProto.AttributeType values. */
export const ATTR_FLOAT = 1;
export const ATTR_INT = 2;
export const ATTR_INTS = 7;

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
}

export interface OnnxNode {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Array<{ dim_value: number } | { dim_param: string }> } } };
}

export interface OnnxGraph {
  name: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

/** A float32 initializer; raw_data views `data` (little-endian, as ONNX stores it and x86/ARM hold it). */
export function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  return { name, dims, data_type: ONNX_FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** An int64 initializer. */
export function int64Tensor(name: string, dims: number[], values: readonly number[]): OnnxTensor {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims, data_type: ONNX_INT64, raw_data: new Uint8Array(data.buffer) };
}

/** A graph input or output: its element type and dimensions (numbers, or names for dynamic ones). */
export function valueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): OnnxValueInfo {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** A node named after its op and first output. */
export function onnxNode(opType: string, input: string[], output: string[], attribute: OnnxAttribute[] = []): OnnxNode {
  return { op_type: opType, name: `${opType}_${output[0]}`, input, output, attribute };
}

let modelType: protobuf.Type | undefined;

/** The serialized ModelProto (IR 8) of `graph` with the default-domain opset `opset`. */
export function encodeOnnxModel(graph: OnnxGraph, opts: { opset: number; producer: string; producerVersion?: string }): Uint8Array {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType("onnx.ModelProto");
  const model = {
    ir_version: 8,
    producer_name: opts.producer,
    producer_version: opts.producerVersion ?? "1",
    opset_import: [{ domain: "", version: opts.opset }],
    graph,
  };
  const err = modelType.verify(model);
  if (err) throw new Error(`${opts.producer}: invalid ONNX model: ${err}`);
  return modelType.encode(modelType.fromObject(model)).finish();
}
