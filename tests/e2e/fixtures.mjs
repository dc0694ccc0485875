// Test files built in memory: .npy and .safetensors writers small enough to check by eye.

/** A version-1.0 little-endian .npy file of float32 `values` with `shape`. */
export function npyF32(shape, values) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const buf = Buffer.alloc(10 + header.length + values.length * 4);
  buf.write("\x93NUMPY", 0, "latin1");
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, "latin1");
  values.forEach((v, i) => buf.writeFloatLE(v, 10 + header.length + i * 4));
  return buf;
}

/** A .safetensors file of F32 tensors: [{ name, shape, values }]. */
export function safetensorsF32(tensors) {
  const meta = {};
  let offset = 0;
  for (const t of tensors) {
    meta[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.values.length * 4] };
    offset += t.values.length * 4;
  }
  let header = JSON.stringify(meta);
  while (header.length % 8 !== 0) header += " ";
  const headerBytes = Buffer.from(header, "utf8");
  const buf = Buffer.alloc(8 + headerBytes.length + offset);
  buf.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(buf, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    for (const v of t.values) {
      buf.writeFloatLE(v, at);
      at += 4;
    }
  }
  return buf;
}

/** Deterministic pseudo-random values (a small LCG), so fixtures are the same on every run. */
export function values(n, seed = 1, spread = 1) {
  let s = seed >>> 0;
  const out = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    // A peaked, two-sided shape (difference of two uniforms cubed) with a few larger values.
    out.push(spread * (u - 0.5) ** 3 * 8 + (i % 97 === 0 ? spread * 0.9 : 0));
  }
  return out;
}

/** The shape and values of a little-endian float32 .npy file (C order). */
export function readNpyF32(buf) {
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString("latin1");
  if (!/'descr': '<f4'/.test(header)) throw new Error(`not float32: ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const data = buf.subarray(10 + len);
  const values = new Float32Array(data.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = data.readFloatLE(4 * i);
  return { shape, values };
}
