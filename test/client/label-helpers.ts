// What the labeling page's chromium tests share: opening the page as a user, the outbox, and WCAG
// measurements made in the page itself (contrast of every visible piece of text against the backgrounds
// it is painted on, accessible names of every control).
import type { Page } from 'playwright-core';

export async function openLabel(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/label#token=${token}`);
}

export const outboxSize = (page: Page): Promise<number> => page.evaluate(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length);

export interface ContrastFailure {
  text: string;
  ratio: number;
  need: number;
  color: string;
  background: string;
}

/**
 * Every visible element with text of its own, its contrast ratio (WCAG 2.x relative luminance, colours
 * with alpha composited over the backgrounds under them, the page white at the bottom) below 4.5:1, or
 * 3:1 for large text (24 px, or 18.66 px bold). Disabled controls are exempt, as WCAG exempts them.
 */
export function contrastFailures(page: Page): Promise<ContrastFailure[]> {
  return page.evaluate(CONTRAST) as Promise<ContrastFailure[]>;
}

// In-page JavaScript as text: tsx names the test's own functions with a helper (__name) the page does not have.
const CONTRAST = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return [0, 0, 0, 0];
    const [r, g, b, a = 1] = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [r, g, b, a];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.unshift(e);
    return chain.reduce((under, e) => over(parse(getComputedStyle(e).backgroundColor), under), [255, 255, 255, 1]);
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()).map((n) => n.textContent.trim()).join(' ');
    if (!own || !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (el.closest('[disabled]')) continue;
    const s = getComputedStyle(el);
    const bg = background(el);
    const fg = over(parse(s.color), bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize);
    const need = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700) ? 3 : 4.5;
    if (ratio < need) out.push({ text: own.slice(0, 60), ratio: Math.round(ratio * 100) / 100, need, color: s.color, background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(', ') + ')' });
  }
  return out;
})()`;

/** Controls (buttons, text boxes, summaries, links) whose accessible name is empty, as the accessibility tree has it. */
export async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot();
  return tree.split('\n').filter((l) => /^\s*- (button|textbox|checkbox|link|combobox|listbox|slider)\b/.test(l) && !/^\s*- \w+ "[^"]+"/.test(l));
}
