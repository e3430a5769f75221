import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countWords, trainBpe } from '../../lm/bpe-train.js';
import { BYTE_TO_CHAR, byteLevelPieces } from '../../lm/byte-level.js';
import { Rng } from '../../lm/rng.js';
import { Tokenizer, TokenizerError } from '../../lm/tokenizer.js';
import { tempDir } from '../helpers.js';
import { chatFixture, familyTokenizer, familyTokenizerJson } from './family-tokenizers.js';
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

describe('lm/tokenizer: Qwen2, Llama 3 and SmolLM2 tokenizer.json', () => {
  const qwen = () => new Tokenizer(familyTokenizerJson('qwen2'));
  const llama = () => new Tokenizer(familyTokenizerJson('llama3'));

  it('split text as the real pre-tokenizers do: contractions, digits, whitespace runs', () => {
    const q = qwen();
    const l = llama();
    const g = smallTokenizer(); // GPT-2's ByteLevel regex, for contrast
    // contractions are case-insensitive in Qwen2's and Llama 3's regex, not in GPT-2's
    expect(q.preTokenize("HE'S I'm we'LL")).to.deep.equal(['HE', "'S", ' I', "'m", ' we', "'LL"]);
    expect(l.preTokenize("HE'S")).to.deep.equal(['HE', "'S"]);
    expect(g.preTokenize("HE'S")).to.deep.equal(['HE', "'", 'S']);
    // digits: Qwen one by one (\p{N}), Llama 3 in runs of up to three (\p{N}{1,3}), GPT-2 whole runs after a space
    expect(q.preTokenize('in 12345')).to.deep.equal(['in', ' ', '1', '2', '3', '4', '5']);
    expect(l.preTokenize('in 12345')).to.deep.equal(['in', ' ', '123', '45']);
    expect(g.preTokenize('in 12345')).to.deep.equal(['in', ' 12345']);
    // a letter run takes one leading non-letter, non-digit, non-newline character
    expect(q.preTokenize('x(hello)')).to.deep.equal(['x', '(hello', ')']);
    expect(g.preTokenize('x(hello)')).to.deep.equal(['x', '(', 'hello', ')']);
    // whitespace: a run ending in newlines is one piece; the last space of a run goes with the next word
    for (const t of [q, l]) {
      expect(t.preTokenize('a   b')).to.deep.equal(['a', '  ', ' b']);
      expect(t.preTokenize('x  \n  y\n\n\nz  ')).to.deep.equal(['x', '  \n', ' ', ' y', '\n\n\n', 'z', '  ']);
      expect(t.preTokenize('ok!!\n\nnext')).to.deep.equal(['ok', '!!\n\n', 'next']);
    }
    expect(g.preTokenize('x  \n  y\n\n\nz  ')).to.deep.equal(['x', '  \n ', ' y', '\n\n', '\n', 'z', '  ']);
    // so Qwen never has a multi-digit token, whatever the merges
    expect(q.encode('2024', { addSpecialTokens: false })).to.have.length(4);
  });

  it('decode(encode(s)) == s for random Unicode (NFC-normalized for Qwen, whose normalizer is NFC)', () => {
    const rng = new Rng(2);
    for (const [name, tok, norm] of [['qwen2', qwen(), true], ['llama3', llama(), false], ['smollm2', new Tokenizer(familyTokenizerJson('smollm2')), false]] as const) {
      for (let i = 0; i < 200; i++) {
        const s = randomUnicode(rng, 1 + Math.floor(rng.next() * 40)).replaceAll('<|endoftext|>', ' ');
        const ids = tok.encode(s, { addSpecialTokens: false });
        expect(tok.decode(ids), `${name} ${JSON.stringify(s)}`).to.equal(norm ? s.normalize('NFC') : s);
        for (const id of ids) expect(id).to.be.within(0, tok.vocabSize - 1);
      }
    }
    expect(qwen().decode(qwen().encode('e\u0301'))).to.equal('\u00e9');
  });

  it('added tokens encode as one id; decode keeps them, or drops the special ones with skipSpecial', () => {
    const q = qwen();
    const [start, end, think, endThink] = ['<|im_start|>', '<|im_end|>', '<think>', '</think>'].map((t) => q.tokenToId(t)!);
    const ids = q.encode('<|im_start|>assistant\n<think>\nhm\n</think>\n\nYes.<|im_end|>');
    expect(ids[0]).to.equal(start);
    expect(ids.at(-1)).to.equal(end);
    expect(ids.filter((id) => [start, end, think, endThink].includes(id))).to.deep.equal([start, think, endThink, end]);
    expect(q.decode(ids)).to.equal('<|im_start|>assistant\n<think>\nhm\n</think>\n\nYes.<|im_end|>');
    // <think> is an added token but not a special one in Qwen3's file, so it stays (as in transformers)
    expect(q.decode(ids, { skipSpecial: true })).to.equal('assistant\n<think>\nhm\n</think>\n\nYes.');
    expect([q.isSpecial(start), q.isSpecial(think)]).to.deep.equal([true, false]);
    const l = llama();
    const eot = l.tokenToId('<|eot_id|>')!;
    expect(l.encode('hi<|eot_id|>', { addSpecialTokens: false })).to.deep.equal([...l.encode('hi', { addSpecialTokens: false }), eot]);
    expect(l.decode(l.encode('<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>'), { skipSpecial: true })).to.equal('user\n\nhi');
  });

  it('Llama 3 prepends <|begin_of_text|> (its TemplateProcessing post-processor), once', () => {
    const l = llama();
    const bos = l.tokenToId('<|begin_of_text|>')!;
    expect([l.bosId, l.addBos, l.bosToken]).to.deep.equal([bos, true, '<|begin_of_text|>']);
    const bare = l.encode('Call me Ishmael.', { addSpecialTokens: false });
    expect(l.encode('Call me Ishmael.')).to.deep.equal([bos, ...bare]);
    expect(l.encode('<|begin_of_text|>Call me Ishmael.')).to.deep.equal([bos, ...bare]); // a rendered chat writes BOS itself
    expect(l.decode(l.encode('Call me Ishmael.'), { skipSpecial: true })).to.equal('Call me Ishmael.');
    expect(qwen().addBos).to.equal(false);
    expect(qwen().encode('hi')).to.deep.equal(qwen().encode('hi', { addSpecialTokens: false }));
    // add_bos_token in tokenizer_config.json wins over the post-processor
    expect(new Tokenizer(familyTokenizerJson('llama3'), 't', { config: { add_bos_token: false, bos_token: '<|begin_of_text|>' } }).encode('hi')).to.deep.equal(l.encode('hi', { addSpecialTokens: false }));
  });

  it('special tokens from tokenizer_config.json and generation_config.json: every eos id ends generation', () => {
    const l = familyTokenizer('llama-3.2-instruct');
    const id = (t: string) => l.tokenToId(t)!;
    expect(l.eosId).to.equal(id('<|eot_id|>'));
    expect(l.eosIds).to.deep.equal([id('<|eot_id|>'), id('<|end_of_text|>'), id('<|eom_id|>')]);
    expect([l.eosToken, l.bosToken, l.padId]).to.deep.equal(['<|eot_id|>', '<|begin_of_text|>', null]);
    const q = familyTokenizer('qwen2.5-instruct');
    expect([q.eosId, q.eosIds, q.padId, q.bosId, q.bosToken, q.addBos]).to.deep.equal([q.tokenToId('<|im_end|>'), [q.tokenToId('<|im_end|>'), q.tokenToId('<|endoftext|>')], q.tokenToId('<|endoftext|>'), null, null, false]);
    expect(q.chatTemplate).to.include('You are Qwen, created by Alibaba Cloud.');
    // without the config files: <|endoftext|> (Qwen) or <|end_of_text|> (Llama 3), as before
    expect(qwen().eosId).to.equal(qwen().tokenToId('<|endoftext|>'));
    expect(llama().eosIds).to.deep.equal([llama().tokenToId('<|end_of_text|>')]);
    expect(qwen().chatTemplate).to.equal(null);
    // generation_config alone: its first eos id
    const g = new Tokenizer(familyTokenizerJson('qwen2'), 't', { generationConfig: { eos_token_id: [q.tokenToId('<|im_end|>'), 600] } });
    expect([g.eosId, g.eosIds]).to.deep.equal([q.tokenToId('<|im_end|>'), [q.tokenToId('<|im_end|>'), 600]]);
  });

  it('loads the folder (tokenizer_config.json, generation_config.json, chat_template.jinja) and writes it back', () => {
    const d = tempDir();
    const f = chatFixture('smollm2-instruct');
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(familyTokenizerJson('smollm2')));
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(f.tokenizer_config));
    writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ eos_token_id: 2, bos_token_id: 1 }));
    const t = Tokenizer.load(d);
    expect([t.eosId, t.eosIds, t.bosId, t.padId, t.addBos]).to.deep.equal([2, [2], 1, 2, false]);
    expect(t.chatTemplate).to.equal(f.tokenizer_config.chat_template);
    writeFileSync(join(d, 'chat_template.jinja'), '{{ messages[0].content }}'); // transformers' separate file wins
    expect(Tokenizer.load(join(d, 'tokenizer.json')).chatTemplate).to.equal('{{ messages[0].content }}');
    const files = Tokenizer.load(d).files();
    expect(Object.keys(files).sort()).to.deep.equal(['chat_template.jinja', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const e = tempDir();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(e, name), text);
    const back = Tokenizer.load(e);
    expect([back.eosIds, back.chatTemplate, back.encode('Hi <|im_end|>')]).to.deep.equal([t.eosIds, '{{ messages[0].content }}', t.encode('Hi <|im_end|>')]);
    expect(Object.keys(smallTokenizer().files())).to.deep.equal(['tokenizer.json']);
  });

  it('names the file and field of a bad special token', () => {
    const json = familyTokenizerJson('qwen2');
    const mk = (x: object) => () => new Tokenizer(json, 'dir/tokenizer.json', { dir: 'dir', ...x });
    expect(mk({ config: { eos_token: '<|nope|>' } })).to.throw(TokenizerError, /dir\/tokenizer_config\.json: eos_token "<\|nope\|>" is not in the vocabulary/);
    expect(mk({ config: { eos_token: 3 } })).to.throw(TokenizerError, /tokenizer_config\.json: eos_token must be a string/);
    expect(mk({ generationConfig: { eos_token_id: [5, 1e6] } })).to.throw(TokenizerError, /dir\/generation_config\.json: eos_token_id must be an id or a list of ids in 0\.\.606/);
    expect(mk({ config: { add_bos_token: 'yes' } })).to.throw(TokenizerError, /add_bos_token must be true or false/);
    expect(mk({ config: { added_tokens_decoder: { 600: { content: '<|other|>' } } } })).to.throw(TokenizerError, /added_tokens_decoder\["600"\] is "<\|other\|>" but tokenizer\.json has "<\|endoftext\|>"/);
    // an added token only tokenizer_config.json lists is added, as transformers does
    const t = mk({ config: { added_tokens_decoder: { 607: { content: '<|extra|>', special: true } } } })();
    expect([t.tokenToId('<|extra|>'), t.vocabSize, t.encode('a<|extra|>').at(-1)]).to.deep.equal([607, 608, 607]);
    expect(() => new Tokenizer({ ...json, pre_tokenizer: { type: 'Metaspace' }, decoder: { type: 'Metaspace' } }, 'sp.json')).to.throw(TokenizerError, /sp\.json: only byte-level BPE/);
  });
});
