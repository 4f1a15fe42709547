/** Element types: the WA-1 codes of InterProcessCommunication.jl. */
export type DtypeName = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64';

/** The typed array that holds each dtype's elements. */
export interface DtypeArrays {
  i8: Int8Array;
  u8: Uint8Array;
  i16: Int16Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  i64: BigInt64Array;
  u64: BigUint64Array;
  f32: Float32Array;
  f64: Float64Array;
}

export type TypedArray = DtypeArrays[DtypeName];

/**
 * The typed array of a dtype known statically (`'f32'` → Float32Array); a name known only at
 * run time (`string`) may be any of them.
 */
export type DtypeArray<D extends string> = D extends DtypeName ? DtypeArrays[D] : TypedArray;

type TypedArrayCtor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

export interface Dtype {
  name: DtypeName;
  code: number;
  bytes: number;
  /** Julia's and numpy's names, for snippets and .npy headers. */
  julia: string;
  numpy: string;
  array: TypedArrayCtor;
  bigint: boolean;
}

const table: Dtype[] = [
  { name: 'i8', code: 1, bytes: 1, julia: 'Int8', numpy: 'i1', array: Int8Array, bigint: false },
  { name: 'u8', code: 2, bytes: 1, julia: 'UInt8', numpy: 'u1', array: Uint8Array, bigint: false },
  { name: 'i16', code: 3, bytes: 2, julia: 'Int16', numpy: 'i2', array: Int16Array, bigint: false },
  { name: 'u16', code: 4, bytes: 2, julia: 'UInt16', numpy: 'u2', array: Uint16Array, bigint: false },
  { name: 'i32', code: 5, bytes: 4, julia: 'Int32', numpy: 'i4', array: Int32Array, bigint: false },
  { name: 'u32', code: 6, bytes: 4, julia: 'UInt32', numpy: 'u4', array: Uint32Array, bigint: false },
  { name: 'i64', code: 7, bytes: 8, julia: 'Int64', numpy: 'i8', array: BigInt64Array as unknown as TypedArrayCtor, bigint: true },
  { name: 'u64', code: 8, bytes: 8, julia: 'UInt64', numpy: 'u8', array: BigUint64Array as unknown as TypedArrayCtor, bigint: true },
  { name: 'f32', code: 9, bytes: 4, julia: 'Float32', numpy: 'f4', array: Float32Array, bigint: false },
  { name: 'f64', code: 10, bytes: 8, julia: 'Float64', numpy: 'f8', array: Float64Array, bigint: false },
];

const aliases: Record<string, DtypeName> = {
  int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int32: 'i32', uint32: 'u32',
  int64: 'i64', uint64: 'u64', float32: 'f32', float64: 'f64', float: 'f32', double: 'f64',
};

export const DTYPE_NAMES: readonly DtypeName[] = table.map((d) => d.name);

/** A dtype by name (`f32`, `float32`, `Float32`, …); RangeError listing the valid names otherwise. */
export function parseDtype(name: string): Dtype {
  const key = String(name).toLowerCase();
  const found = table.find((d) => d.name === key) ?? table.find((d) => d.name === aliases[key]);
  if (!found) throw new RangeError(`unknown dtype "${name}": use one of ${DTYPE_NAMES.join(', ')}`);
  return found;
}

export function dtypeByCode(code: number): Dtype {
  const found = table.find((d) => d.code === code);
  if (!found) throw new RangeError(`unknown element type code ${code}`);
  return found;
}
