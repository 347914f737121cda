/**
 * The few `cnfmetricspb` messages the client library sends and reads, in protobuf's wire format, so the
 * library needs no .proto file at run time: `CreateCnfMetricRequest`, `CnfMetricRequest` and
 * `CnfMetricResponse`.
 * @module
 */
import type { CnfMetricMessage } from "../cnf/cnf_metric_message.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

class Writer {
  readonly #parts: number[] = [];

  varint(value: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.#parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#parts.push(Number(v));
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.byteLength);
    for (const b of data) this.#parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return s === "" ? this : this.bytes(field, encoder.encode(s));
  }

  double(field: number, d: number): this {
    if (d === 0 && !Object.is(d, -0)) return this;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, d, true);
    this.tag(field, 1);
    for (const x of b) this.#parts.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

function metricBytes(m: CnfMetricMessage): Uint8Array {
  const w = new Writer().string(1, m.cnf_id);
  if (m.timestamp) {
    const t = new Writer();
    if (BigInt(m.timestamp.seconds) !== 0n) t.tag(1, 0).varint(BigInt(m.timestamp.seconds));
    if (m.timestamp.nanos !== 0) t.tag(2, 0).varint(m.timestamp.nanos);
    w.bytes(2, t.finish());
  }
  return w.string(3, m.metric_type).double(4, m.value).string(5, m.unit).string(6, m.status).finish();
}

/** `CreateCnfMetricRequest { metric = 1 }`. */
export function encodeCreateRequest(m: CnfMetricMessage): Uint8Array {
  return new Writer().bytes(1, metricBytes(m)).finish();
}

/** `CnfMetricRequest { cnf_id = 1 }`. */
export function encodeIdRequest(cnfId: string): Uint8Array {
  return new Writer().string(1, cnfId).finish();
}

type Fields = Map<number, (bigint | Uint8Array)[]>;

/** Splits a message into its fields: varints and fixed64 as bigint (fixed64 as raw bits), the rest bytes. */
function fields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n;; shift += 7n) {
      if (at >= buf.length) throw new Error("truncated varint");
      const b = buf[at++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    let value: bigint | Uint8Array;
    switch (key & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = buf.slice(at, at + 8);
        at += 8;
        break;
      case 2: {
        const len = Number(varint());
        value = buf.slice(at, at + len);
        at += len;
        break;
      }
      case 5:
        value = buf.slice(at, at + 4);
        at += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${key & 7}`);
    }
    if (at > buf.length) throw new Error("truncated message");
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

function last<T>(f: Fields, n: number): T | undefined {
  const list = f.get(n);
  return list?.[list.length - 1] as T | undefined;
}

function text(f: Fields, n: number): string {
  const b = last<Uint8Array>(f, n);
  return b ? decoder.decode(b) : "";
}

/** `CnfMetricResponse { metric = 1; code = 2 }`: the metric, or null when the response has none. */
export function decodeMetricResponse(buf: Uint8Array): CnfMetricMessage | null {
  const bytes = last<Uint8Array>(fields(buf), 1);
  if (!bytes) return null;
  const f = fields(bytes);
  const ts = last<Uint8Array>(f, 2);
  const t = ts ? fields(ts) : undefined;
  const value = last<Uint8Array>(f, 4);
  return {
    cnf_id: text(f, 1),
    timestamp: t
      ? {
        seconds: String(BigInt.asIntN(64, last<bigint>(t, 1) ?? 0n)),
        nanos: Number(last<bigint>(t, 2) ?? 0n),
      }
      : null,
    metric_type: text(f, 3),
    value: value ? new DataView(value.buffer, value.byteOffset, 8).getFloat64(0, true) : 0,
    unit: text(f, 5),
    status: text(f, 6),
  };
}
