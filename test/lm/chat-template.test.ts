import { expect } from 'chai';
import { applyChatTemplate, ChatMessage, ChatTemplateError, checkMessages, renderChat, tokenizeChat } from '../../lm/chat-template.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { chatFixture, familyTokenizer, familyTokenizerJson } from './family-tokenizers.js';

// The real chat_template strings (test/lm/fixtures/*.json); the expected texts below are read off them.
const conv: ChatMessage[] = [
  { role: 'user', content: 'Hi there!' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: "What's 2+2?" },
];
const withSystem: ChatMessage[] = [{ role: 'system', content: 'You are terse.' }, ...conv];
const template = (name: Parameters<typeof chatFixture>[0]) => chatFixture(name).tokenizer_config.chat_template as string;

describe('lm/chat-template', () => {
  it('Qwen2.5-Instruct: default system prompt, ChatML turns, <|im_start|>assistant as the generation prompt', () => {
    const t = template('qwen2.5-instruct');
    const body = '<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nWhat\'s 2+2?<|im_end|>\n';
    const sys = '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n';
    expect(renderChat(t, conv)).to.equal(sys + body);
    expect(renderChat(t, conv, { addGenerationPrompt: true })).to.equal(sys + body + '<|im_start|>assistant\n');
    expect(renderChat(t, withSystem, { addGenerationPrompt: true })).to.equal('<|im_start|>system\nYou are terse.<|im_end|>\n' + body + '<|im_start|>assistant\n');
    // tools go into the system turn as JSON
    const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
    expect(renderChat(t, conv, { tools })).to.match(/^<\|im_start\|>system\nYou are Qwen, .*\n\n# Tools\n[\s\S]*<tools>\n\{"type": "function", "function": \{"name": "add"/);
  });

  it('Llama-3.2-Instruct: BOS, the dated system header, <|eot_id|> after each turn', () => {
    const t = template('llama-3.2-instruct');
    const o = { bosToken: '<|begin_of_text|>', vars: { date_string: '26 Jul 2024' } };
    const head = '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n';
    const body =
      '<|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>' +
      "<|start_header_id|>user<|end_header_id|>\n\nWhat's 2+2?<|eot_id|>";
    expect(renderChat(t, conv, o)).to.equal(head + '<|eot_id|>' + body);
    expect(renderChat(t, conv, { ...o, addGenerationPrompt: true })).to.equal(head + '<|eot_id|>' + body + '<|start_header_id|>assistant<|end_header_id|>\n\n');
    expect(renderChat(t, withSystem, o)).to.equal(head + 'You are terse.<|eot_id|>' + body);
    // without date_string the template asks strftime_now for today's date, as transformers does
    expect(renderChat(t, conv, { bosToken: '<|begin_of_text|>' })).to.match(/Today Date: \d\d \w{3} \d{4}\n\n<\|eot_id\|>/);
  });

  it('SmolLM2-Instruct: its own default system prompt', () => {
    const t = template('smollm2-instruct');
    const expected =
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n' +
      "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n";
    expect(renderChat(t, conv)).to.equal(expected);
    expect(renderChat(t, conv, { addGenerationPrompt: true })).to.equal(expected + '<|im_start|>assistant\n');
    expect(renderChat(t, withSystem)).to.match(/^<\|im_start\|>system\nYou are terse\.<\|im_end\|>\n<\|im_start\|>user\n/);
  });

  it('Qwen3: no default system prompt, enable_thinking=false closes an empty <think>, earlier turns lose their <think>', () => {
    const t = template('qwen3');
    const body = "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n";
    expect(renderChat(t, conv)).to.equal(body);
    expect(renderChat(t, conv, { addGenerationPrompt: true })).to.equal(body + '<|im_start|>assistant\n');
    expect(renderChat(t, conv, { addGenerationPrompt: true, vars: { enable_thinking: false } })).to.equal(body + '<|im_start|>assistant\n<think>\n\n</think>\n\n');
    const thought: ChatMessage[] = [conv[0], { role: 'assistant', content: '<think>\nThey greet me.\n</think>\n\nHello! How can I help?' }, conv[2]];
    expect(renderChat(t, thought)).to.equal(body); // stripped: the turn is before the last user message
    expect(renderChat(t, thought.slice(0, 2))).to.equal('<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n<think>\nThey greet me.\n</think>\n\nHello! How can I help?<|im_end|>\n');
  });

  it('applyChatTemplate uses the tokenizer\'s template and tokens; no template is a clear error', () => {
    const l = familyTokenizer('llama-3.2-instruct');
    expect(applyChatTemplate(l, conv, { vars: { date_string: '26 Jul 2024' } })).to.equal(renderChat(template('llama-3.2-instruct'), conv, { bosToken: '<|begin_of_text|>', vars: { date_string: '26 Jul 2024' } }));
    expect(() => applyChatTemplate(new Tokenizer(familyTokenizerJson('qwen2')), conv)).to.throw(ChatTemplateError, /the tokenizer has no chat_template/);
    expect(() => renderChat('{{ raise_exception("roles must alternate") }}', conv)).to.throw(ChatTemplateError, /chat template: roles must alternate/);
    expect(() => renderChat('{% if %}', conv)).to.throw(ChatTemplateError, /chat template does not parse/);
  });

  it('the assistant mask covers exactly the assistant content and the <|im_end|> after it (Qwen2.5)', () => {
    const q = familyTokenizer('qwen2.5-instruct');
    const full: ChatMessage[] = [...conv, { role: 'assistant', content: '4.' }];
    const r = tokenizeChat(q, full);
    expect(r.text).to.equal(renderChat(template('qwen2.5-instruct'), full));
    expect(r.ids).to.deep.equal(q.encode(r.text)); // piecewise encoding agrees with encoding the whole text here
    expect(r.mask).to.have.length(r.ids.length);
    const imEnd = q.tokenToId('<|im_end|>')!;
    // the masked tokens are, in order, each assistant message's content tokens followed by <|im_end|>
    const masked = r.ids.filter((_, k) => r.mask[k]);
    expect(masked).to.deep.equal([...q.encode('Hello! How can I help?'), imEnd, ...q.encode('4.'), imEnd]);
    // and they are contiguous runs that start right after "<|im_start|>assistant\n" and stop before the "\n"
    const runs: [number, number][] = [];
    r.mask.forEach((m, k) => {
      if (m && !r.mask[k - 1]) runs.push([k, k]);
      if (m) runs.at(-1)![1] = k + 1;
    });
    expect(runs).to.have.length(2);
    for (const [s, e] of runs) {
      expect(q.decode(r.ids.slice(0, s)).endsWith('<|im_start|>assistant\n')).to.equal(true);
      expect(r.ids[e - 1]).to.equal(imEnd);
      expect(q.decode([r.ids[e]])).to.equal('\n');
    }
    expect(r.spans.map(([s, e]) => r.text.slice(s, e))).to.deep.equal(['Hello! How can I help?<|im_end|>', '4.<|im_end|>']);
  });

  it('masks Llama 3.2 and SmolLM2 turns the same way (<|eot_id|>, <|im_end|>)', () => {
    const full: ChatMessage[] = [...withSystem, { role: 'assistant', content: '4.' }];
    const l = familyTokenizer('llama-3.2-instruct');
    const rl = tokenizeChat(l, full, { vars: { date_string: '26 Jul 2024' } });
    expect(rl.ids[0]).to.equal(l.bosId); // once: the template writes it
    expect(rl.ids[1]).to.not.equal(l.bosId);
    expect(l.decode(rl.ids.filter((_, k) => rl.mask[k]))).to.equal('Hello! How can I help?<|eot_id|>4.<|eot_id|>');
    const s = familyTokenizer('smollm2-instruct');
    const rs = tokenizeChat(s, full);
    expect(s.decode(rs.ids.filter((_, k) => rs.mask[k]))).to.equal('Hello! How can I help?<|im_end|>4.<|im_end|>');
  });

  it('Qwen3: one assistant turn works (its empty <think> is the assistant\'s); several fail with a clear message', () => {
    const q = familyTokenizer('qwen3');
    const one = tokenizeChat(q, [conv[0], { role: 'assistant', content: 'Hello!' }]);
    expect(q.decode(one.ids.filter((_, k) => one.mask[k]))).to.equal('<think>\n\n</think>\n\nHello!<|im_end|>');
    expect(() => tokenizeChat(q, [...conv, { role: 'assistant', content: '4.' }])).to.throw(ChatTemplateError, /does not render this conversation prefix by prefix \(messages\[1\] renders differently once later messages follow; Qwen3's .*split it into one conversation per assistant turn/);
    expect(() => tokenizeChat(q, [{ role: 'assistant', content: 'x' }])).to.throw(ChatTemplateError, /messages\[0\] is an assistant message/);
  });

  it('checkMessages names the bad field', () => {
    expect(checkMessages(conv)).to.equal(conv);
    expect(() => checkMessages([])).to.throw(ChatTemplateError, /messages must be a non-empty list/);
    expect(() => checkMessages([{ role: 'user' }], 'prompt')).to.throw(ChatTemplateError, /prompt\[0\]\.content must be a string/);
    expect(() => checkMessages([{ content: 'x' }])).to.throw(ChatTemplateError, /messages\[0\]\.role must be a non-empty string/);
    expect(() => checkMessages(['hi'])).to.throw(ChatTemplateError, /messages\[0\] must be an object/);
  });
});
