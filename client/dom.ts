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

/** The bearer token: from #token=… once (then removed from the address bar), else localStorage, else asked. */
export function token(): string | null {
  const m = /token=([\w-]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem('rlhf.token', m[1]);
    history.replaceState(null, '', location.pathname);
  }
  return localStorage.getItem('rlhf.token');
}

export function askToken(onDone: () => void): void {
  const input = h('input', { type: 'password', placeholder: 'paste your token', size: '50', id: 'token' }) as HTMLInputElement;
  mount(h('h1', {}, 'rlhf-trainer'), h('form', {
    onsubmit: (e: Event) => {
      e.preventDefault();
      localStorage.setItem('rlhf.token', input.value.trim());
      onDone();
    },
  }, input, ' ', h('button', { type: 'submit' }, 'Sign in')));
  input.focus();
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${localStorage.getItem('rlhf.token') ?? ''}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, data: (text ? JSON.parse(text) : null) as T };
}
