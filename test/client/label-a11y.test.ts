// Accessibility of the labeling page, measured in chromium: every control has a role and a name (from
// the browser's accessibility tree), choices carry aria-pressed, one aria-live region announces progress
// and errors, focus lands on the task after a submit, every piece of text meets WCAG AA contrast in every
// state (computed in the page), and the page works at 390 px wide without scrolling sideways.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { contrastFailures, openLabel, unnamedControls } from './label-helpers.js';

describe('client: labeling page accessibility', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  pageHooks((rig) => void ({ store, srv, page } = rig));

  const promptIs = (p: string) => page.waitForFunction((want) => document.querySelector('#prompt')?.textContent?.startsWith(want), p);
  const focused = () => page.evaluate(() => document.activeElement?.id);
  const three = (i: number) => ({ prompt: `Three ${i}`, completions: [{ text: `x${i}` }, { text: `y${i}` }, { text: `z${i}` }] });
  const pair = (i: number) => ({ prompt: `Pair ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] });

  it('names every control, presses choices with aria-pressed, announces in one live region, keeps focus on the task', async () => {
    store.setSetting('guidelines', 'Be kind.', null);
    store.addTasks([pair(1), three(2), pair(3)]);
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Pair 1');
    const live = page.locator('[aria-live]');
    expect(await live.count()).to.equal(1);
    expect([await live.getAttribute('id'), await live.getAttribute('role'), await live.getAttribute('aria-live')]).to.deep.equal(['message', 'status', 'polite']);
    expect(await focused()).to.equal('task'); // a new task takes the focus
    expect(await page.getAttribute('#task', 'aria-label')).to.equal('Task 1');
    expect(await unnamedControls(page)).to.deep.equal([]);
    const tree = await page.locator('#task').ariaSnapshot();
    for (const name of ['A is better', 'B is better', 'Tie', 'Skip', 'Submit']) expect(tree, name).to.match(new RegExp(`- button "${name}[^"]*"`));
    expect(tree).to.match(/- textbox "Why\? \(optional\)"/);
    expect(tree).to.match(/- group "Your answer"/);
    for (const id of ['choice-a', 'choice-b', 'choice-tie', 'choice-skip']) expect(await page.getAttribute(`#${id}`, 'aria-pressed'), id).to.equal('false');
    await page.click('#submit', { force: true }); // aria-disabled, but a click still explains: the error is announced, nothing is sent
    expect(await live.textContent()).to.match(/rank all 2 completions first/);
    expect(await live.getAttribute('class')).to.equal('error');
    await page.click('#choice-b');
    expect(await page.getAttribute('#choice-b', 'aria-pressed')).to.equal('true');
    expect(await page.getAttribute('#choice-a', 'aria-pressed')).to.equal('false');
    expect(await focused()).to.equal('choice-b'); // the re-render keeps focus on the control used
    await page.click('#submit');
    await promptIs('Three 2');
    expect(await focused()).to.equal('task'); // after submit: on the new task
    expect(await live.textContent()).to.equal('label for task 1 saved');
    // K = 3: each completion's rank button is pressed once ranked
    await page.click('#rank-1');
    expect(await page.getAttribute('#rank-1', 'aria-pressed')).to.equal('true');
    expect(await page.getAttribute('#rank-1', 'aria-label')).to.equal('Completion 2, ranked 1 of 3: take it out');
    expect(await page.getAttribute('#rank-0', 'aria-label')).to.equal('Rank completion 1 next');
    expect(await unnamedControls(page)).to.deep.equal([]);
    await page.keyboard.press('3');
    await page.keyboard.press('1');
    expect(await page.locator('#ranking').ariaSnapshot()).to.include('list "Your ranking, best first (3 of 3: complete)"');
    await page.click('#submit'); // (Enter would press the focused rank button: a focused control does what it says)
    await promptIs('Pair 3');
    expect(await focused()).to.equal('task');
    await page.click('#guidelines-toggle');
    await page.click('#recent summary');
    expect(await unnamedControls(page)).to.deep.equal([]); // the panel and the recent list too
    expect(await page.getByRole('complementary', { name: 'Guidelines' }).count()).to.equal(1);
  });

  it('meets WCAG AA contrast in every state, the selected button and its key hint included', async () => {
    store.setSetting('guidelines', 'Prefer **correct**, then `short`.', null);
    store.addTasks([
      { prompt: 'Code ```\ninline `x`\n```', completions: [{ text: 'Use:\n```python\nprint(1)\n```\n**bold** and `code`' }, { text: 'plain' }] },
      { prompt: 'Four', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Rank' }], completions: [{ text: 'w' }, { text: 'x' }, { text: 'y' }, { text: 'z' }] },
    ]);
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Code');
    const check = async (state: string) => expect(await contrastFailures(page), state).to.deep.equal([]);
    await check('a pair, nothing chosen');
    await page.keyboard.press('a');
    const [color, under] = await page.locator('#choice-a kbd').evaluate((k) => [getComputedStyle(k).color, getComputedStyle(k).backgroundColor]);
    expect([color, under], 'the key hint of the selected button: white text on a transparent background, over the green').to.deep.equal(['rgb(255, 255, 255)', 'rgba(0, 0, 0, 0)']);
    await check('A selected (white on green, its key hint too)');
    await page.keyboard.press('t');
    await check('tie selected');
    await page.click('#submit');
    await page.click('#submit', { force: true }); // nothing chosen yet on the next task: an error in the live region
    await check('an error shown, a conversation with four completions');
    await page.keyboard.press('2');
    await page.keyboard.press('4');
    await check('two of four ranked');
    await page.click('#guidelines-toggle');
    await page.click('#recent summary');
    await check('guidelines and recent labels open');
    await page.keyboard.press('u');
    await page.waitForSelector('#editing');
    await check('editing a label');
    // the measurement itself: the old bug (a key hint white on white in the selected button) is caught
    await page.keyboard.press('a');
    await page.locator('#choice-a kbd').evaluate((k) => Object.assign((k as HTMLElement).style, { color: '#fff', background: '#fff' }));
    expect((await contrastFailures(page)).map((f) => [f.text, f.ratio])).to.deep.include(['A', 1]);
  });

  it('works at 390 px wide: no sideways scroll with long words and wide code, every control on screen and usable', async () => {
    const long = 'https://example.com/' + 'a'.repeat(300);
    const wide = '```\n' + 'x = ' + '1 + '.repeat(80) + '1\n```';
    store.setSetting('guidelines', `Read ${long} first.`, null);
    store.addTasks([
      { prompt: `A prompt with ${long}`, completions: [{ text: `${long}\n${wide}` }, { text: 'short' }] },
      { prompt: 'Four', completions: ['w', 'x', 'y', long].map((text) => ({ text })) },
    ]);
    await page.setViewportSize({ width: 390, height: 844 });
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('A prompt');
    const fits = async (state: string) => {
      const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      expect(scroll, `${state}: no sideways scroll`).to.be.at.most(inner);
      const off = await page.locator('button:visible, textarea:visible, summary:visible').evaluateAll((els) => els
        .map((e) => [e.id || e.textContent!.trim(), e.getBoundingClientRect()] as const).filter(([, r]) => r.left < 0 || r.right > innerWidth).map(([n]) => n));
      expect(off, `${state}: controls outside the screen`).to.deep.equal([]);
    };
    await fits('a pair with a long word and a wide code block');
    const code = page.locator('pre.code');
    expect(await code.evaluate((e) => e.scrollWidth > e.clientWidth), 'the code block scrolls inside itself').to.equal(true);
    await page.click('#guidelines-toggle');
    await fits('guidelines open');
    await page.locator('.completion[data-position="1"]').click();
    await page.click('#submit');
    await promptIs('Four');
    for (const p of [3, 0, 2, 1]) await page.click(`#rank-${p}`);
    await fits('four ranked');
    await page.click('#submit');
    await page.waitForSelector('#empty');
    await page.waitForFunction(() => document.querySelector('#progress')?.textContent?.includes('labeled 2'));
    expect(store.db.prepare('SELECT ranking FROM labels ORDER BY id').pluck().all()).to.deep.equal(['[1,0]', '[3,0,2,1]']);
    expect(await contrastFailures(page)).to.deep.equal([]);
  });
});
