// GPT-2's byte-level alphabet: each of the 256 bytes maps to a printable Unicode character, so that
// BPE merges work on strings and any UTF-8 byte sequence is representable (no unknown token).

/** byte -> character, as in GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves. */
export const BYTE_TO_CHAR: string[] = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out: string[] = new Array(256);
  for (const b of keep) out[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCharCode(256 + n++);
  return out;
})();

/** GPT-2's pre-tokenizer pattern: contractions, letters, digits, punctuation runs, whitespace. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();

/** Split text as GPT-2 does and map each piece's UTF-8 bytes to the byte-level alphabet. */
export function byteLevelPieces(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(GPT2_SPLIT)) {
    let s = '';
    for (const b of utf8.encode(m[0])) s += BYTE_TO_CHAR[b];
    out.push(s);
  }
  return out;
}
