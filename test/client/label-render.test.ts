// Model text on the labeling page as Markdown built from DOM nodes (client/markdown.ts): fenced code
// blocks with their language, inline code, bold, line breaks kept; HTML is never parsed, inside code or
// out, in prompts, turns and completions. Chromium.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { statSync } from 'node:fs';
import { pageHooks, screenshotPath } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { openLabel } from './label-helpers.js';

describe('client: labeling page renders Markdown safely', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  pageHooks((rig) => void ({ store, srv, page } = rig));

  it('code blocks, inline code, bold and line breaks as DOM; markup stays text; snake_case and unclosed fences survive', async () => {
    const evil = '<img src=x onerror="window.__pwned = 1">';
    const completion = [
      'Here is the fix:', '```python', 'def __init__(self):', `    print("${evil}")`, '```',
      `Call \`run_all()\` and **never** ${evil} twice.`, 'Second line.', '', 'A paragraph with __dunder__ and snake_case_name.',
    ].join('\n');
    const cut = 'Start:\n~~~\nunclosed <b>code</b>';
    store.addTasks([
      { prompt: 'Explain **this**:\n`x < y`', completions: [{ text: completion }, { text: cut }] },
      { prompt: 'p', messages: [{ role: 'user', content: 'Fix:\n```js\nlet a = 1;\n```' }], completions: [{ text: '`ok`' }, { text: 'no' }] },
    ], () => 0.99); // keep the input order on screen
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await page.waitForSelector('#prompt');
    const first = page.locator('.completion[data-position="0"] .text');
    const block = first.locator('pre.code');
    expect(await block.getAttribute('data-lang')).to.equal('python');
    expect(await block.getAttribute('aria-label')).to.equal('code, python');
    expect(await block.locator('code').textContent()).to.equal(`def __init__(self):\n    print("${evil}")`);
    expect(await first.locator('p code, :scope > code').allTextContents()).to.deep.equal(['run_all()']);
    expect(await first.locator('strong').allTextContents()).to.deep.equal(['never']);
    expect(await first.locator('img, script, b, em').count()).to.equal(0);
    const text = (await first.evaluate((e) => (e as HTMLElement).innerText));
    expect(text).to.include('twice.\nSecond line.\n\nA paragraph with __dunder__ and snake_case_name.'); // line breaks kept, underscores kept
    expect(await first.evaluate((e) => getComputedStyle(e.closest('.completion')!).whiteSpace)).to.equal('pre-wrap');
    const second = page.locator('.completion[data-position="1"] .text');
    expect(await second.locator('pre.code code').textContent()).to.equal('unclosed <b>code</b>'); // an unclosed fence runs to the end
    expect(await page.locator('#prompt strong').textContent()).to.equal('this');
    expect(await page.locator('#prompt code').textContent()).to.equal('x < y');
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await page.waitForSelector('ol.conversation');
    expect(await page.locator('.turn pre.code code').textContent()).to.equal('let a = 1;');
    expect(await page.locator('.turn .role').textContent()).to.equal('user');
    expect(await page.locator('.completion[data-position="0"] code').textContent()).to.equal('ok');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });

  it('looks as the README shows it (docs/label-page.png with RLHF_UPDATE_SCREENSHOTS=1): a conversation, three completions, guidelines beside', async () => {
    store.setSetting('guidelines', 'Rank by **correctness** first, then clarity.\nCode must run: check `imports`.\nSkip a task you cannot judge.', null);
    store.addTasks([{
      prompt: 'rendered', messages: [{ role: 'system', content: 'You are a careful Python tutor.' }, { role: 'user', content: 'How do I read a file line by line?' }],
      completions: [
        { text: 'Use a `with` block:\n```python\nwith open("notes.txt") as f:\n    for line in f:\n        print(line.rstrip())\n```\nThe file is **closed** for you.' },
        { text: 'Call `f.readlines()` and loop over the list. It reads the whole file at once.' },
        { text: 'open the file and read it' },
      ],
    }], () => 0.99);
    await page.setViewportSize({ width: 1280, height: 860 });
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await page.waitForSelector('ol.conversation');
    await page.click('#guidelines-toggle');
    await page.click('#rank-0');
    const [g, t] = [(await page.locator('#guidelines').boundingBox())!, (await page.locator('#task').boundingBox())!];
    expect(g.x).to.be.at.least(t.x + t.width - 1);
    const shot = screenshotPath('label-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).to.be.above(10_000);
  });
});
