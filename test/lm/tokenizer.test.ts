import { expect } from 'chai';
import { countWords, trainBpe } from '../../lm/bpe-train.js';
import { BYTE_TO_CHAR, byteLevelPieces } from '../../lm/byte-level.js';
import { Rng } from '../../lm/rng.js';
import { Tokenizer, TokenizerError } from '../../lm/tokenizer.js';
import { mobyDickText, smallTokenizer } from './fixtures.js';

/** A random string of valid Unicode: ASCII, Latin-1, CJK, emoji (astral), combining marks, whitespace runs. */
function randomUnicode(rng: Rng, len: number): string {
  const pools: [number, number][] = [[0x20, 0x7e], [0x00, 0x1f], [0xa0, 0x17f], [0x300, 0x36f], [0x4e00, 0x9fff], [0x1f300, 0x1faff], [0xe000, 0xf8ff], [0x10000, 0x10ffff]];
  let s = '';
  for (let i = 0; i < len; i++) {
    const r = rng.next();
    if (r < 0.1) s += [' ', '  ', '\n', '\t', '\r\n', '<|endoftext|>', "'s", "'ll"][Math.floor(rng.next() * 8)];
    else {
      const [lo, hi] = pools[Math.floor(rng.next() * pools.length)];
      let cp = lo + Math.floor(rng.next() * (hi - lo + 1));
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41; // lone surrogates are not Unicode scalar values
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}

describe('lm/tokenizer', () => {
  it('decode(encode(s)) == s for 500 random Unicode strings', () => {
    const tok = smallTokenizer();
    const rng = new Rng(1);
    for (let i = 0; i < 500; i++) {
      const s = randomUnicode(rng, 1 + Math.floor(rng.next() * 40));
      const ids = tok.encode(s);
      expect(tok.decode(ids), JSON.stringify(s)).to.equal(s);
      for (const id of ids) expect(id).to.be.within(0, tok.vocabSize - 1);
    }
  });

  it('round-trips a whole chapter and compresses it', () => {
    const tok = smallTokenizer();
    const text = mobyDickText(1);
    const ids = tok.encode(text);
    expect(tok.decode(ids)).to.equal(text);
    expect(ids.length).to.be.lessThan(new TextEncoder().encode(text).length * 0.75);
  });

  it('trains GPT-2-style merges: byte alphabet first, frequent words become single tokens, eos last', () => {
    const json = trainBpe(countWords(mobyDickText(3)), { vocabSize: 1000 });
    const tok = new Tokenizer(json);
    expect(tok.vocabSize).to.equal(1000);
    expect(tok.eosId).to.equal(999);
    expect(tok.encode('<|endoftext|>')).to.deep.equal([999]);
    expect(tok.encode(' the')).to.have.length(1);
    expect(tok.encode(' whale')).to.have.length(1);
    const model = json.model as { vocab: Record<string, number>; merges: string[] };
    expect(model.vocab[BYTE_TO_CHAR[0x41]]).to.equal(0x41); // 'A'
    expect(model.merges).to.have.length(1000 - 256 - 1);
    // deterministic
    expect(JSON.stringify(trainBpe(countWords(mobyDickText(3)), { vocabSize: 1000 }))).to.equal(JSON.stringify(json));
  });

  it('encodes with the merges in rank order, as a plain BPE does', () => {
    // A from-scratch BPE encoder over the same merges must agree with the library on every word.
    const json = trainBpe(countWords(mobyDickText(2)), { vocabSize: 600 });
    const tok = new Tokenizer(json);
    const model = json.model as { vocab: Record<string, number>; merges: string[] };
    const rank = new Map(model.merges.map((m, i) => [m, i]));
    const bpe = (word: string): number[] => {
      let parts = [...word];
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < parts.length; i++) {
          const r = rank.get(parts[i] + ' ' + parts[i + 1]);
          if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
        }
        if (best < 0) return parts.map((p) => model.vocab[p]);
        parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
      }
    };
    const text = mobyDickText(3).slice(20000, 30000);
    expect(tok.encode(text)).to.deep.equal(byteLevelPieces(text).flatMap(bpe));
  });

  it('refuses vocabularies that cannot hold the byte alphabet, and non-BPE files', () => {
    expect(() => trainBpe(new Map([['ab', 3]]), { vocabSize: 200 })).to.throw(/vocab size must be an integer >= 257/);
    expect(() => new Tokenizer({ model: { type: 'WordPiece', vocab: {} } }, 'x.json')).to.throw(TokenizerError, /x\.json: expected a BPE model/);
  });
});
