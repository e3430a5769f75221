// DPO's data (dpo/data.ts): the four line formats, TRL's prompt extraction and truncation, the run's data
// snapshot (a resume trains on the same labels; changed files are refused), and the store read while
// another process keeps writing to it.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDpoConfig } from '../../dpo/config.js';
import { loadDpoData, parseLine, SNAPSHOT_FILE, splitSharedPrompt, tokenize } from '../../dpo/data.js';
import { Store } from '../../data/store.js';
import { renderChat } from '../../lm/chat-template.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { tempDir } from '../helpers.js';
import { familyTokenizer, familyTokenizerJson } from '../lm/family-tokenizers.js';
import { smallTokenizer } from '../lm/fixtures.js';

const LIMITS = { maxLength: 1024, maxPromptLength: 512, truncationMode: 'keep_end' as const };
const line = (x: object) => JSON.stringify(x);

/** A store holding `n` imported pairs (finished 2-way tasks), named by index. */
function storeWith(db: string, n: number, from = 0): void {
  const s = new Store(db);
  s.importPairs(Array.from({ length: n }, (_, i) => ({ prompt: `Prompt ${from + i}:`, chosen: ` whale ${from + i}`, rejected: ` sea ${from + i}` })), 'importer');
  s.close();
}

describe('dpo/data', () => {
  it("splits HH-RLHF's shared prompt at the last shared Assistant turn, else as TRL's extract_prompt", () => {
    expect(splitSharedPrompt('\n\nHuman: Hi\n\nAssistant: Hello there', '\n\nHuman: Hi\n\nAssistant: Go away'))
      .to.deep.equal({ prompt: '\n\nHuman: Hi\n\nAssistant:', chosen: ' Hello there', rejected: ' Go away' });
    // the replies share "I " but the prompt ends at the turn
    expect(splitSharedPrompt('\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: I like it', '\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: I hate it').prompt)
      .to.equal('\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant:');
    // no turn marker: the common prefix, its trailing space moved into the completions
    expect(splitSharedPrompt('The cat sat', 'The cat ran')).to.deep.equal({ prompt: 'The cat', chosen: ' sat', rejected: ' ran' });
  });

  it('reads pairs, HH lines, full-export rankings, ties and skips, naming the line of a bad one', () => {
    const tok = smallTokenizer();
    expect(parseLine(line({ prompt: 'P', chosen: ' a', rejected: ' b' }), 'f:1', tok)).to.deep.include({ prompt: 'P', completions: [' a', ' b'], ranking: [0, 1], chat: false });
    expect(parseLine(line({ chosen: 'Q: x? A: yes', rejected: 'Q: x? A: no' }), 'f:2', tok)).to.deep.include({ prompt: 'Q: x? A:', completions: [' yes', ' no'] });
    const full = { label_id: 9, kind: 'ranking', prompt: 'P', completions: ['x', 'y', 'z'], ranking: [2, 0, 1] };
    expect(parseLine(line(full), 'f:3', tok)).to.deep.include({ completions: ['x', 'y', 'z'], ranking: [2, 0, 1] });
    expect(parseLine(line({ ...full, kind: 'tie', ranking: null }), 'f:4', tok)!.ranking).to.equal(null);
    expect(parseLine(line({ ...full, kind: 'skip', ranking: null }), 'f:5', tok)).to.equal(null);
    expect(() => parseLine('{"prompt": 1', 'f:6', tok)).to.throw(/^f:6: /);
    expect(() => parseLine(line({ prompt: 'P', completions: ['a', 'b'], kind: 'ranking', ranking: [0, 0] }), 'f:7', tok)).to.throw(/^f:7: ranking \[0,0\] must list distinct positions/);
  });

  it("renders TRL's conversational lines with the chat template; the tokens are the template's, prompt and completion", () => {
    const tok = familyTokenizer('qwen2.5-instruct');
    const prompt = [{ role: 'user', content: 'What color is the sky?' }];
    const chosen = [{ role: 'assistant', content: 'It is blue.' }];
    const rejected = [{ role: 'assistant', content: 'It is green.' }];
    const r = parseLine(line({ prompt, chosen, rejected }), 'c:1', tok)!;
    expect(r.chat).to.equal(true);
    expect(r.prompt).to.equal(renderChat(tok.chatTemplate!, prompt, { addGenerationPrompt: true }));
    expect(r.completions[0]).to.equal('It is blue.<|im_end|>'); // the end-of-turn, not the newline after it
    const e = tokenize(r, tok, LIMITS, 4096)!;
    expect(tok.decode([...e.promptIds, ...e.completionIds[0]])).to.equal(renderChat(tok.chatTemplate!, [...prompt, ...chosen]).trimEnd());
    expect(e.completionIds[0].at(-1)).to.equal(tok.tokenToId('<|im_end|>')); // no EOS added after the template's own end
    // the implicit prompt: the leading messages both share
    const implicit = parseLine(line({ chosen: [...prompt, ...chosen], rejected: [...prompt, ...rejected] }), 'c:2', tok)!;
    expect([implicit.prompt, implicit.completions]).to.deep.equal([r.prompt, r.completions]);
    expect(() => parseLine(line({ prompt, chosen, rejected }), 'c:3', new Tokenizer(familyTokenizerJson('qwen2')))).to.throw(/^c:3: a conversation needs the model's chat template/);
    expect(() => parseLine(line({ prompt, chosen: [{ role: 'assistant', content: 4 }], rejected }), 'c:4', tok)).to.throw(/^c:4: chosen\[0\]\.content must be a string/);
  });

  it("truncates as TRL: the prompt's end (or start) kept, completions cut to maxLength, a prompt that fills it dropped; EOS on plain text", () => {
    const tok = smallTokenizer();
    const r = { prompt: 'one two three four five six', completions: [' whale whale whale', ' sea'], ranking: [0, 1], where: 't', chat: false };
    const p = tok.encode(r.prompt);
    const full = tokenize(r, tok, LIMITS, 1024)!;
    expect(full.promptIds).to.deep.equal(p);
    expect(full.completionIds[1]).to.deep.equal([...tok.encode(' sea', { addSpecialTokens: false }), tok.eosId]);
    expect(tokenize(r, tok, { ...LIMITS, maxPromptLength: 3 }, 1024)!.promptIds).to.deep.equal(p.slice(-3));
    expect(tokenize(r, tok, { ...LIMITS, maxPromptLength: 3, truncationMode: 'keep_start' }, 1024)!.promptIds).to.deep.equal(p.slice(0, 3));
    const cut = tokenize(r, tok, { ...LIMITS, maxLength: p.length + 2 }, 1024)!;
    expect(cut.completionIds.map((c) => c.length)).to.deep.equal([2, 2]);
    expect(tokenize(r, tok, LIMITS, p.length + 1)!.completionIds.map((c) => c.length)).to.deep.equal([1, 1]); // the model's context bounds too
    expect(tokenize(r, tok, { ...LIMITS, maxLength: p.length }, 1024)).to.equal(null);
  });

  it('snapshots the store: a resume reads exactly the labels of the first run, while a fresh run sees the new ones', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    storeWith(db, 30);
    const c = resolveDpoConfig({ model: 'unused', db, out: join(dir, 'run'), valFraction: 0.2 });
    const tok = smallTokenizer();
    const first = await loadDpoData(c, tok, 128, false);
    const snap = JSON.parse(readFileSync(join(c.out, SNAPSHOT_FILE), 'utf8'));
    expect(snap.labelIds).to.have.length(30);
    expect(first.train.length + first.val.length).to.equal(30);
    expect(first.val.length).to.be.within(1, 15);
    storeWith(db, 10, 30); // labelers keep labelling after the run started
    const again = await loadDpoData(c, tok, 128, true);
    expect(again.train.map((e) => e.where)).to.deep.equal(first.train.map((e) => e.where));
    expect(again.val.map((e) => e.where)).to.deep.equal(first.val.map((e) => e.where));
    const fresh = await loadDpoData({ ...c, out: join(dir, 'run2') }, tok, 128, false);
    expect(fresh.train.length + fresh.val.length).to.equal(40);
    // a label of the snapshot gone: the resume refuses rather than train on other data
    const s = new Store(db);
    s.db.prepare('DELETE FROM labels WHERE id = ?').run(snap.labelIds[0]);
    s.close();
    await loadDpoData(c, tok, 128, true).then(() => expect.fail('resumed without a label'), (e: Error) => expect(e.message).to.match(/snapshot .* lists 30 labels, 29 of them are still in the store/));
  });

  it('snapshots files by SHA-256: a resume refuses a changed file; ties are dropped and counted', async () => {
    const dir = tempDir();
    const f = join(dir, 'prefs.jsonl');
    writeFileSync(f, [line({ prompt: 'A', chosen: ' x', rejected: ' y' }), line({ label_id: 1, kind: 'tie', prompt: 'B', completions: ['u', 'v'], ranking: null }), ''].join('\n'));
    const c = resolveDpoConfig({ model: 'unused', data: [f], out: join(dir, 'run'), valFraction: 0 });
    const d = await loadDpoData(c, smallTokenizer(), 128, false);
    expect([d.train.length, d.val.length, d.dropped.ties]).to.deep.equal([1, 0, 1]);
    appendFileSync(f, line({ prompt: 'C', chosen: ' x', rejected: ' y' }) + '\n');
    await loadDpoData(c, smallTokenizer(), 128, true).then(() => expect.fail('resumed on changed data'), (e: Error) => expect(e.message).to.match(/prefs\.jsonl: changed since the run started/));
  });

  it('reads the store while another process keeps writing labels: no "database is locked" on either side', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    storeWith(db, 200);
    // the writer: another process, its own connection, one transaction of 5 labels after another for 3 s
    const code = `import { Store } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'data', 'store.ts'))};
      const s = new Store(${JSON.stringify(db)}); let n = 0; const end = Date.now() + 3000; let i = 1000;
      process.stdout.write('ready\\n');
      try { while (Date.now() < end) { s.importPairs(Array.from({ length: 5 }, () => ({ prompt: 'W' + i, chosen: ' a' + i, rejected: ' b' + i++ })), 'writer'); n += 5; } }
      catch (e) { process.stdout.write('error ' + e.message + '\\n'); process.exit(1); }
      s.close(); process.stdout.write('wrote ' + n + '\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    const tok = smallTokenizer();
    const counts: number[] = [];
    let running = true;
    void exited.then(() => (running = false));
    for (let k = 0; running; k++) {
      const d = await loadDpoData(resolveDpoConfig({ model: 'unused', db, out: join(dir, `r${k}`), valFraction: 0 }), tok, 128, false);
      counts.push(d.train.length);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await exited, out).to.equal(0);
    const wrote = Number(/wrote (\d+)/.exec(out)![1]);
    expect(wrote).to.be.above(50);
    expect(counts.length).to.be.above(2);
    expect(counts[0]).to.be.at.least(200);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).to.be.at.least(counts[i - 1]); // each read one snapshot, later ones newer
    expect(counts.at(-1)).to.be.above(200); // the reads saw the writer's labels as they came
  });
});
