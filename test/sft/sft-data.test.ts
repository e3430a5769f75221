import { expect } from 'chai';
import { ChatMessage, renderChat } from '../../lm/chat-template.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { loadSftData } from '../../sft/sft-data.js';
import { familyTokenizer, familyTokenizerJson } from '../lm/family-tokenizers.js';

const opts = { seqLen: 256, batchSize: 1, gradAccum: 1, heldOut: 0, seed: 0 };
const conv: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi there!' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: "What's 2+2?" },
  { role: 'assistant', content: '4.' },
];
const line = (x: object) => ({ name: 'chat.jsonl', text: JSON.stringify(x) + '\n' });

describe('sft/sft-data: conversations', () => {
  it('Qwen2.5: the loss mask covers exactly the assistant content tokens and the <|im_end|> after each', () => {
    const tok = familyTokenizer('qwen2.5-instruct');
    const data = loadSftData([line({ messages: conv, source: 'ignored' })], tok, opts);
    expect([data.kind, data.trainSize]).to.deep.equal(['pairs', 1]);
    const b = data.trainBatch(1, 0);
    const ids = b.ids[0];
    const text = renderChat(tok.chatTemplate!, conv);
    expect(tok.decode(ids)).to.equal(text);
    // target t predicts ids[t + 1]: collect the tokens that count
    const counted = ids.slice(1).filter((_, t) => b.lossMask![0][t]);
    const imEnd = tok.tokenToId('<|im_end|>')!;
    expect(counted).to.deep.equal([...tok.encode('Hello! How can I help?'), imEnd, ...tok.encode('4.'), imEnd]);
    // nothing of the system or user turns, the "<|im_start|>assistant\n" headers or the "\n" after <|im_end|> counts
    const mask = b.lossMask![0];
    for (let t = 0; t < mask.length; t++) {
      if (!mask[t]) continue;
      const before = tok.decode(ids.slice(0, t + 1));
      expect(before.endsWith('<|im_start|>assistant\n') || mask[t - 1] === 1, before).to.equal(true);
    }
    expect(mask.reduce((a, v) => a + v, 0)).to.equal(counted.length);
    expect(b.attentionMask![0].every((v) => v === 1)).to.equal(true);
  });

  it('conversations and prompt/completion pairs mix in one file; each batch pads and masks per row', () => {
    const tok = familyTokenizer('llama-3.2-instruct');
    const text = [JSON.stringify({ messages: conv.slice(1, 3) }), JSON.stringify({ prompt: 'Call me', completion: ' Ishmael.' })].join('\n');
    const data = loadSftData([{ name: 'mix.jsonl', text }], tok, { ...opts, batchSize: 2 });
    const b = data.trainBatch(1, 0);
    const rows = b.ids.map((r, i) => r.slice(1).filter((_, t) => b.lossMask![i][t]));
    const eot = tok.tokenToId('<|eot_id|>')!;
    const want = [[...tok.encode('Hello! How can I help?', { addSpecialTokens: false }), eot], [...tok.encode(' Ishmael.', { addSpecialTokens: false }), tok.eosId!]];
    expect(rows.map((r) => JSON.stringify(r)).sort()).to.deep.equal(want.map((r) => JSON.stringify(r)).sort());
    // the pair's prompt starts with BOS (Llama 3 adds it), its completion does not get another
    const pairRow = b.ids.find((r) => r.includes(tok.eosId!) && !r.includes(tok.tokenToId('<|start_header_id|>')!))!;
    expect(pairRow[0]).to.equal(tok.bosId);
    expect(pairRow.filter((id) => id === tok.bosId)).to.have.length(1);
  });

  it('fails naming the file and line: no chat template, a bad message, no room for the answer', () => {
    const bare = new Tokenizer(familyTokenizerJson('qwen2'));
    expect(() => loadSftData([line({ messages: conv })], bare, opts)).to.throw(/^chat\.jsonl:1: a conversation needs the model's chat template, and the tokenizer has no chat_template$/);
    const q = familyTokenizer('qwen2.5-instruct');
    expect(() => loadSftData([line({ messages: [{ role: 'user', content: 3 }] })], q, opts)).to.throw(/chat\.jsonl:1: messages\[0\]\.content must be a string/);
    expect(() => loadSftData([line({ messages: conv.slice(0, 2) })], q, opts)).to.throw(/chat\.jsonl:1: the conversation has no assistant message/);
    expect(() => loadSftData([line({ messages: conv })], q, { ...opts, seqLen: 20 })).to.throw(/chat\.jsonl:1: the first assistant turn starts after seqLen \+ 1 = 21 tokens/);
    expect(() => loadSftData([line({ text: 'x' })], q, opts)).to.throw(/chat\.jsonl:1: expected \{"prompt": string, "completion": string\} or \{"messages": \[\.\.\.\]\}/);
  });

  it('Qwen3 (earlier turns lose their <think>): one example per assistant turn, the conversation as the model saw it, only that turn as target', () => {
    const q = familyTokenizer('qwen3');
    const data = loadSftData([line({ messages: conv })], q, opts);
    expect(data.trainSize).to.equal(2);
    const imEnd = q.tokenToId('<|im_end|>')!;
    const seen: string[] = [];
    for (let k = 0; k < 2; k++) {
      const b = data.trainBatch(k + 1, 0);
      const ids = b.ids[0];
      const counted = q.decode(ids.slice(1).filter((_, t) => b.lossMask![0][t]));
      seen.push(counted);
      // the example is the template's own rendering of the conversation up to that turn
      const upTo = q.decode(ids).includes("What's 2+2?") ? conv : conv.slice(0, 3);
      expect(q.decode(ids)).to.equal(renderChat(q.chatTemplate!, upTo));
      expect(ids.slice(1).filter((_, t) => b.lossMask![0][t]).at(-1)).to.equal(imEnd);
    }
    expect(seen.some((t) => t.includes('Hello! How can I help?') && !t.includes('4.'))).to.equal(true);
    expect(seen.some((t) => t.includes('4.') && !t.includes('Hello!'))).to.equal(true);
  });

  it('a long conversation keeps its first seqLen + 1 tokens', () => {
    const q = familyTokenizer('smollm2-instruct');
    const full = loadSftData([line({ messages: conv })], q, opts).trainBatch(1, 0);
    const cut = loadSftData([line({ messages: conv })], q, { ...opts, seqLen: 60 }).trainBatch(1, 0);
    expect(cut.ids[0]).to.deep.equal(full.ids[0].slice(0, 61));
    expect(cut.lossMask![0]).to.deep.equal(full.lossMask![0].slice(0, 60));
  });
});
