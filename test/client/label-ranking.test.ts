// The labeling page ranks K completions without a keyboard, for any K the API allows: clicking or tapping
// the completions in order, taking one back, dragging the ranking (mouse, and a finger through real touch
// events) and its move buttons. Debian's chromium driven by playwright-core.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { openLabel } from './label-helpers.js';

const many = (k: number) => ({ prompt: `Rank these ${k}`, completions: Array.from({ length: k }, (_, i) => ({ text: `completion text number ${i}` })) });

describe('client: labeling page, K-way ranking by mouse and touch', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  pageHooks((rig) => void ({ store, srv, page } = rig));

  /** Display position of each completion text of the task. */
  const positions = (id: number) => new Map(store.task(id)!.completions.map((c) => [c.text, c.position]));
  const card = (p: Page, text: string) => p.locator('.completion', { hasText: new RegExp(`${text}$`) });
  const order = (p: Page) => p.locator('#ranking li').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.position)));
  const stored = () => JSON.parse(store.db.prepare('SELECT ranking FROM labels').pluck().get() as string) as number[];

  it('ranks 12 completions with clicks: in order, one taken back, a drag and a move button; submits with a click', async () => {
    const [id] = store.addTasks([many(12)]);
    const pos = positions(id);
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await page.waitForSelector('#prompt');
    const want = [5, 0, 11, 3, 9, 1, 7, 10, 2, 8, 6, 4].map((i) => `completion text number ${i}`);
    for (const t of want.slice(0, 3)) await card(page, t).click();
    expect(await order(page)).to.deep.equal(want.slice(0, 3).map((t) => pos.get(t)));
    await card(page, want[1]).click(); // clicking a ranked one takes it out
    expect(await order(page)).to.deep.equal([want[0], want[2]].map((t) => pos.get(t)));
    await card(page, want[1]).click(); // and back, now third
    for (const t of want.slice(3)) await card(page, t).click();
    let now = [want[0], want[2], want[1], ...want.slice(3)].map((t) => pos.get(t)!);
    expect(await order(page)).to.deep.equal(now);
    expect(await page.textContent('#ranking-title')).to.include('12 of 12: complete');
    expect(await page.getAttribute(`#rank-${now[0]}`, 'aria-pressed')).to.equal('true');
    // drag the second item above the first with the mouse
    const items = page.locator('#ranking li');
    const from = (await items.nth(1).boundingBox())!;
    const to = (await items.nth(0).boundingBox())!;
    await page.mouse.move(from.x + 20, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(to.x + 20, to.y + 4, { steps: 6 });
    await page.mouse.up();
    now = [now[1], now[0], ...now.slice(2)];
    expect(await order(page)).to.deep.equal(now);
    await page.click(`#up-${now[2]}`); // the third moves up one
    now = [now[0], now[2], now[1], ...now.slice(3)];
    expect(await order(page)).to.deep.equal(now);
    await page.click('#submit');
    await page.waitForSelector('#empty');
    await page.waitForFunction(() => document.querySelector('#progress')?.textContent?.includes('labeled 1'));
    expect(stored()).to.deep.equal(now);
  });

  it('on a 390 px touch screen: taps rank 10 completions, a finger drags one to the top, a tap submits', async () => {
    const [id] = store.addTasks([many(10)]);
    const pos = positions(id);
    const token = store.addUser('ann', 'labeler');
    const ctx = await page.context().browser()!.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const phone = await ctx.newPage();
    try {
      await openLabel(phone, srv.url, token);
      await phone.waitForSelector('#prompt');
      const want = [9, 2, 4, 0, 7, 1, 8, 3, 6, 5].map((i) => `completion text number ${i}`);
      for (const t of want) await card(phone, t).tap();
      let now = want.map((t) => pos.get(t)!);
      expect(await order(phone)).to.deep.equal(now);
      // a real touch drag (touchstart, touchmove, touchend through the DevTools protocol): the last item to the top
      const items = phone.locator('#ranking li');
      await items.nth(9).scrollIntoViewIfNeeded();
      await items.nth(0).evaluate((e) => e.scrollIntoView({ block: 'center' }));
      const from = (await items.nth(9).boundingBox())!;
      const to = (await items.nth(0).boundingBox())!;
      expect(from.y + from.height).to.be.below(844); // both on screen: the list is short enough for a thumb
      const cdp = await ctx.newCDPSession(phone);
      const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number, y: number) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
      const x = from.x + 30;
      await touch('touchStart', x, from.y + from.height / 2);
      for (let i = 1; i <= 8; i++) await touch('touchMove', x, from.y + from.height / 2 + ((to.y + 2 - (from.y + from.height / 2)) * i) / 8);
      for (let i = 0; i < 3; i++) { // the finger settles before it lifts: no fling, whose stop would swallow the next tap
        await phone.waitForTimeout(60);
        await touch('touchMove', x, to.y + 2);
      }
      await touch('touchEnd', x, to.y + 2);
      now = [now[9], ...now.slice(0, 9)];
      expect(await order(phone)).to.deep.equal(now);
      await phone.locator('#submit').tap();
      await phone.waitForSelector('#empty');
      await phone.waitForFunction(() => document.querySelector('#progress')?.textContent?.includes('labeled 1'));
      expect(stored()).to.deep.equal(now);
    } finally {
      await ctx.close();
    }
  });

  it('pairs by clicking: a card is "this one is better", the buttons too, submitted with a click', async () => {
    const ids = store.addTasks([1, 2].map((i) => ({ prompt: `Pair ${i}`, completions: [{ text: `left ${i}` }, { text: `right ${i}` }] })));
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await page.waitForSelector('#prompt');
    const b = page.locator('.completion[data-position="1"]');
    await b.click();
    expect(await page.getAttribute('#choice-b', 'aria-pressed')).to.equal('true');
    expect(await page.getAttribute('#choice-a', 'aria-pressed')).to.equal('false');
    await page.click('#submit');
    await page.waitForFunction(() => document.querySelector('#prompt')?.textContent === 'Pair 2');
    await page.click('#choice-a');
    await page.click('#choice-tie');
    expect(await page.getAttribute('#choice-a', 'aria-pressed')).to.equal('false');
    expect(await page.getAttribute('#choice-tie', 'aria-pressed')).to.equal('true');
    await page.click('#submit');
    await page.waitForSelector('#empty');
    await page.waitForFunction(() => document.querySelector('#progress')?.textContent?.includes('labeled 2'));
    const rows = store.db.prepare('SELECT task_id, kind, ranking FROM labels ORDER BY task_id').all();
    expect(rows).to.deep.equal([{ task_id: ids[0], kind: 'ranking', ranking: '[1,0]' }, { task_id: ids[1], kind: 'tie', ranking: null }]);
  });
});
