import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPromptRecords, loadPrompts, promptIndices } from '../../rl/prompts.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { tempDir } from '../helpers.js';
import { familyTokenizer, familyTokenizerJson } from '../lm/family-tokenizers.js';

describe('rl/prompts', () => {
  it('reads .txt (blank lines skipped) and .jsonl, naming the file and line on errors', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.txt'), 'one\n\ntwo\r\n');
    expect(loadPrompts(join(d, 'a.txt'))).to.deep.equal(['one', 'two']);
    writeFileSync(join(d, 'b.jsonl'), '{"prompt":"x"}\n{"prompt":"y"}\n');
    expect(loadPrompts(join(d, 'b.jsonl'))).to.deep.equal(['x', 'y']);
    writeFileSync(join(d, 'c.jsonl'), '{"prompt":"x"}\n{"text":"y"}\n');
    expect(() => loadPrompts(join(d, 'c.jsonl'))).to.throw(/c\.jsonl:2: "prompt" must be a string/);
    expect(() => loadPrompts(join(d, 'none.txt'))).to.throw(/none\.txt: not found/);
  });

  it('renders conversations (TRL "messages" and conversational "prompt") with the chat template and keeps the other columns', () => {
    const d = tempDir();
    const f = join(d, 'chat.jsonl');
    const user = [{ role: 'user', content: 'What is 2+2?' }];
    writeFileSync(f, [
      JSON.stringify({ messages: [{ role: 'system', content: 'Be terse.' }, ...user], answer: '4', id: 7 }),
      JSON.stringify({ prompt: user, answer: '4' }),
      JSON.stringify({ prompt: 'plain text', answer: 'x' }),
    ].join('\n') + '\n');
    const tok = familyTokenizer('qwen2.5-instruct');
    const r = loadPromptRecords(f, tok);
    expect(r[0].prompt).to.equal('<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
    expect(r[0].columns).to.deep.equal({ answer: '4', id: 7 });
    expect(r[0].messages).to.deep.equal([{ role: 'system', content: 'Be terse.' }, ...user]);
    expect(r[1].prompt).to.equal('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
    expect(r[1].columns).to.deep.equal({ answer: '4' });
    expect(r[2]).to.deep.equal({ prompt: 'plain text', columns: { answer: 'x' } });
    expect(loadPrompts(f, tok)).to.deep.equal(r.map((x) => x.prompt));
    // the rendered prompt holds Llama's BOS, and encoding it does not add a second one
    const l = familyTokenizer('llama-3.2-instruct');
    const ids = l.encode(loadPrompts(f, l)[0]);
    expect(ids.filter((id) => id === l.bosId)).to.have.length(1);
    expect(l.decode(ids)).to.match(/^<\|begin_of_text\|><\|start_header_id\|>system<\|end_header_id\|>\n\n[\s\S]*<\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/);
  });

  it('a conversation without a chat template, or a bad one, fails naming the file and line', () => {
    const d = tempDir();
    const f = join(d, 'chat.jsonl');
    writeFileSync(f, '{"prompt": "fine"}\n' + JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) + '\n');
    const bare = new Tokenizer(familyTokenizerJson('qwen2'));
    expect(() => loadPrompts(f, bare)).to.throw(/^prompts .*chat\.jsonl:2: a conversation needs the model's chat template, and the model's tokenizer has no chat_template$/);
    expect(() => loadPrompts(f)).to.throw(/chat\.jsonl:2: a conversation needs the model's chat template, and no tokenizer was given/);
    const tok = familyTokenizer('smollm2-instruct');
    const bad = (line: object) => {
      writeFileSync(f, JSON.stringify(line) + '\n');
      return () => loadPrompts(f, tok);
    };
    expect(bad({ messages: [{ role: 'user' }] })).to.throw(/chat\.jsonl:1: messages\[0\]\.content must be a string/);
    expect(bad({ prompt: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })).to.throw(/chat\.jsonl:1: the last message is the assistant's/);
    expect(bad({ messages: 'hi' })).to.throw(/chat\.jsonl:1: "prompt" must be a string, or "messages" \(or "prompt"\) a list of messages/);
    expect(bad([1])).to.throw(/chat\.jsonl:1: expected a JSON object/);
  });

  it('each pass over the prompts is a permutation, and any window is the same however it is cut', () => {
    const all = promptIndices(5, 3, 0, 15);
    for (let p = 0; p < 3; p++) expect([...all.slice(p * 5, p * 5 + 5)].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect([...promptIndices(5, 3, 0, 7), ...promptIndices(5, 3, 7, 8)]).to.deep.equal(all);
    expect(promptIndices(5, 4, 0, 15)).to.not.deep.equal(all);
  });
});
