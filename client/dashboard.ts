// The run dashboard (researchers and admins). Being built: this first version lists the runs.
import type { RunView } from './protocol.js';
import { api, askToken, h, mount, token } from './dom.js';

async function render(): Promise<void> {
  const r = await api<RunView[]>('GET', '/api/runs');
  if (r.status === 401) return askToken(() => void render());
  if (r.status === 403) return mount(h('p', { class: 'error' }, 'The dashboard needs a researcher or admin token.'));
  mount(h('h1', {}, 'Runs'), h('ul', {}, ...r.data.map((x) => h('li', {}, `${x.id} ${x.state}`))));
}

if (token()) void render();
else askToken(() => void render());
