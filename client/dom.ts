// DOM helpers for the pages. Text always goes in through textContent, never innerHTML, so model output
// that looks like markup (a <script> tag, say) is shown as the characters it is.

type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

export function mount(...nodes: Node[]): void {
  const app = document.getElementById('app')!;
  app.replaceChildren(...nodes);
}

export const TOKEN_KEY = 'rlhf.token';

// A #token= link signs this browser in as whoever the link names. When someone is signed in already, the
// link never replaces them silently: a link from someone else (or forged) would have the next labels,
// and the unsent ones, stored as that other user. The page asks first, naming both users.

/** The link's token, taken out of the address bar (and so out of history and screenshots): once. */
function linkToken(): string | null {
  const m = /token=([\w-]+)/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname);
  return m[1];
}

/**
 * The bearer token, for pages that start at once: localStorage's, or a link's when nobody is signed in.
 * A link for another user opens the question while the page goes on as the signed-in one; on yes the
 * page reloads as the link's user.
 */
export function token(): string | null {
  const link = linkToken();
  const stored = localStorage.getItem(TOKEN_KEY);
  if (link && link !== stored) {
    if (!stored) localStorage.setItem(TOKEN_KEY, link);
    else {
      void switchAsked(stored, link).then((yes) => {
        if (!yes) return;
        localStorage.setItem(TOKEN_KEY, link);
        location.reload();
      });
    }
  }
  return localStorage.getItem(TOKEN_KEY);
}

/** As token(), but a link for another user is settled first, so nothing is fetched (or assigned) as either user meanwhile. */
export async function signIn(): Promise<string | null> {
  const link = linkToken();
  const stored = localStorage.getItem(TOKEN_KEY);
  if (link && link !== stored && (!stored || (await switchAsked(stored, link)))) localStorage.setItem(TOKEN_KEY, link);
  return localStorage.getItem(TOKEN_KEY);
}

/** The name a token signs in as; null when the server refuses it, undefined when it cannot be asked. */
async function whoIs(token: string): Promise<string | null | undefined> {
  try {
    const r = await api<{ name?: string }>('GET', '/api/me', undefined, token);
    if (r.status === 401) return null;
    return r.status === 200 ? r.data.name : undefined;
  } catch {
    return undefined;
  }
}

async function switchAsked(current: string, link: string): Promise<boolean> {
  const [now, other] = await Promise.all([whoIs(current), whoIs(link)]);
  if (now === null) return true; // the stored token signs nobody in any more: there is no one to protect
  if (other === null) {
    await dialog('This sign-in link does not work', `Its token is not valid here. You stay signed in${now ? ` as ${now}` : ''}.`, [['ok', 'OK']]);
    return false;
  }
  if (now !== undefined && now === other) return true; // the same user with a new token (rotated)
  const a = now ?? 'the current user';
  const b = other ?? "the link's user";
  return (await dialog("Sign in as the link's user?", `You are signed in as ${a}. The link signs in as ${b}. Labels not yet sent stay with ${a}.`,
    [['no', `Stay signed in as ${a}`], ['yes', `Sign in as ${b}`]])) === 'yes';
}

/**
 * A modal question in the page: focus goes to the first button (the safe answer), Tab moves between
 * them, Enter or Space answers, Escape is the first answer too. Resolves with the value of the button
 * (or '' for Escape).
 */
export function dialog(title: string, text: string, buttons: [value: string, label: string][]): Promise<string> {
  return new Promise((resolve) => {
    const el = h('dialog', { id: 'dialog', 'aria-labelledby': 'dialog-title', 'aria-describedby': 'dialog-text' },
      h('h2', { id: 'dialog-title' }, title), h('p', { id: 'dialog-text' }, text),
      h('form', { method: 'dialog' }, ...buttons.flatMap(([value, label], i) => [i ? ' ' : null, h('button', { value, autofocus: i === 0 }, label)]))) as HTMLDialogElement;
    el.addEventListener('close', () => {
      el.remove();
      resolve(el.returnValue);
    });
    document.body.append(el);
    el.showModal();
  });
}

export function askToken(onDone: () => void): void {
  const input = h('input', { type: 'password', placeholder: 'paste your token', size: '50', id: 'token' }) as HTMLInputElement;
  mount(h('h1', {}, 'rlhf-trainer'), h('form', {
    onsubmit: (e: Event) => {
      e.preventDefault();
      localStorage.setItem(TOKEN_KEY, input.value.trim());
      onDone();
    },
  }, input, ' ', h('button', { type: 'submit' }, 'Sign in')));
  input.focus();
}

/** A JSON request as the signed-in user, or as the holder of `as` (a queued label goes with its own user's token). */
export async function api<T>(method: string, path: string, body?: unknown, as = localStorage.getItem(TOKEN_KEY) ?? ''): Promise<{ status: number; data: T }> {
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${as}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, data: (text ? JSON.parse(text) : null) as T };
}
