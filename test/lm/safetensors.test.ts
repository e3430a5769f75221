import { expect } from 'chai';
import { f16ToF32, SafetensorsError, SafetensorsFile, serializeSafetensors } from '../../lm/safetensors.js';

/** Build a safetensors file by hand from the format's specification: u64 LE length, JSON header, LE data. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const head = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + head.length + data.length);
  const n = head.length;
  for (let i = 0; i < 8; i++) out[i] = Math.floor(n / 2 ** (8 * i)) & 0xff; // little-endian u64, byte by byte
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

describe('lm/safetensors', () => {
  it('reads a file built byte by byte from the specification (F32, F16, BF16, metadata, unaligned data)', () => {
    // F32 1.5 = 0x3FC00000, -2 = 0xC0000000; F16 1.0 = 0x3C00, -0.5 = 0xB800, 65504 = 0x7BFF;
    // BF16 3.0 = 0x4040, 1.0 = 0x3F80. All little-endian.
    const data = [0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b, 0x40, 0x40, 0x80, 0x3f];
    const header = JSON.stringify({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F16', shape: [1, 3], data_offsets: [8, 14] },
      c: { dtype: 'BF16', shape: [2], data_offsets: [14, 18] },
    }); // header length is not a multiple of 8, so the data starts unaligned
    const st = new SafetensorsFile(handBuilt(header, data), 'hand.safetensors');
    expect(st.metadata).to.deep.equal({ format: 'pt' });
    expect(Array.from(st.float32('a'))).to.deep.equal([1.5, -2]);
    expect(Array.from(st.float32('b'))).to.deep.equal([1, -0.5, 65504]);
    expect(st.entries.get('b')!.shape).to.deep.equal([1, 3]);
    expect(Array.from(st.float32('c'))).to.deep.equal([3, 1]);
  });

  it('converts half-precision special values', () => {
    expect(f16ToF32(0x0001)).to.equal(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x7c00)).to.equal(Infinity);
    expect(f16ToF32(0xfc00)).to.equal(-Infinity);
    expect(f16ToF32(0x7e00)).to.be.NaN;
    expect(f16ToF32(0x8000)).to.equal(-0);
  });

  it('writes what it reads, with the data 8-byte aligned', () => {
    const bytes = serializeSafetensors([
      { name: 'x', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { name: 'y', shape: [3], data: Float32Array.from([-1, 0.25, 1e-7]) },
    ], { note: 'hi' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).to.equal(0);
    const st = new SafetensorsFile(bytes);
    expect(Array.from(st.float32('x'))).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(st.float32('y'))).to.deep.equal(Array.from(Float32Array.from([-1, 0.25, 1e-7])));
    expect(st.metadata.note).to.equal('hi');
  });

  const good = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than the length field', new Uint8Array(5), /shorter than the 8-byte header length/],
    ['a header length past the end', (() => { const b = handBuilt(JSON.stringify(good), new Array(8).fill(0)); b[0] = 0xff; b[1] = 0x7f; return b; })(), /runs past the end/],
    ['a huge header length', (() => { const b = handBuilt('{}', []); b[6] = 1; return b; })(), /larger than the .* limit/],
    ['bad JSON', handBuilt('{"t": {"dtype": "F32", ', new Array(8).fill(0)), /not valid JSON/],
    ['a header that is not an object', handBuilt('[1, 2]', []), /not a JSON object/],
    ['an unknown dtype', handBuilt(JSON.stringify({ t: { dtype: 'F8_E9', shape: [2], data_offsets: [0, 2] } }), [0, 0]), /tensor 't': unknown dtype "F8_E9"/],
    ['a shape that does not match the byte span', handBuilt(JSON.stringify({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), new Array(8).fill(0)), /tensor 't': shape \[3\] F32 needs 12 bytes but data_offsets span 8/],
    ['truncated data', handBuilt(JSON.stringify(good), [0, 0, 0, 0, 0]), /tensor 't': truncated/],
    ['a negative shape', handBuilt(JSON.stringify({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), []), /tensor 't': shape must be/],
    ['overlapping tensors', handBuilt(JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, u: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), new Array(8).fill(0)), /overlap/],
  ];
  for (const [what, bytes, msg] of cases) {
    it(`rejects ${what} with a message naming the file`, () => {
      expect(() => new SafetensorsFile(bytes, 'bad.safetensors')).to.throw(SafetensorsError, /^bad\.safetensors: /).and.to.match(msg);
    });
  }

  it('names a missing tensor, and refuses integer data where floats are needed', () => {
    const st = new SafetensorsFile(handBuilt(JSON.stringify({ i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }), [1, 0, 0, 0]), 'f.safetensors');
    expect(() => st.float32('nope')).to.throw(SafetensorsError, "f.safetensors: missing tensor 'nope'");
    expect(() => st.float32('i')).to.throw(SafetensorsError, /tensor 'i' has dtype I32/);
  });
});

describe('lm/safetensors half precision writes', () => {
  it('f32 -> f16 -> f32 is exact where f16 can hold the value and rounds to nearest even elsewhere', async () => {
    const { f32ToF16, f32ToBf16 } = await import('../../lm/safetensors.js');
    for (const v of [0, -0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, 1 / 1024, 3.140625]) expect(f16ToF32(f32ToF16(v))).to.equal(v);
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).to.equal(1); // tie: to even
    expect(f16ToF32(f32ToF16(1 + 3 * 2 ** -11))).to.equal(1 + 2 ** -9); // tie: to even (up)
    expect(f16ToF32(f32ToF16(1e6))).to.equal(Infinity);
    expect(f16ToF32(f32ToF16(2 ** -26))).to.equal(0);
    expect(f16ToF32(f32ToF16(NaN))).to.be.NaN;
    const bf = (v: number) => new Float32Array(new Uint32Array([f32ToBf16(v) << 16]).buffer)[0];
    expect(bf(1)).to.equal(1);
    expect(bf(1 + 2 ** -8)).to.equal(1); // tie to even
    expect(bf(1 + 3 * 2 ** -8)).to.equal(1 + 2 ** -6);
    for (let i = 0; i < 1000; i++) {
      const v = (Math.random() - 0.5) * 100;
      expect(Math.abs(f16ToF32(f32ToF16(v)) - v)).to.be.at.most(Math.abs(v) * 2 ** -11);
    }
  });

  it('serializes F16 and BF16 tensors that read back to the rounded values', () => {
    const data = Float32Array.from([0.1, -3.3, 1000.5, 7]);
    const st = new SafetensorsFile(serializeSafetensors([{ name: 'h', shape: [4], data, dtype: 'F16' }, { name: 'b', shape: [2, 2], data, dtype: 'BF16' }]));
    expect(st.entries.get('h')!.dtype).to.equal('F16');
    expect(st.entries.get('b')!.offsets).to.deep.equal([8, 16]);
    const h = st.float32('h');
    const b = st.float32('b');
    for (let i = 0; i < 4; i++) {
      expect(Math.abs(h[i] - data[i])).to.be.at.most(Math.abs(data[i]) * 2 ** -11);
      expect(Math.abs(b[i] - data[i])).to.be.at.most(Math.abs(data[i]) * 2 ** -8);
    }
  });
});
