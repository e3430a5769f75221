// The project page's users: each with their figures (count, speed, skip and tie rates, gold accuracy,
// agreement with the others), new users, token rotation, disabling and enabling; and the invite links.
// A new or rotated token is shown as a sign-in link (/label#token=... for a labeler, /project#token=...
// for a researcher or admin) with a copy button, until the lead dismisses it. The token lives only in this
// page's memory: never in storage, the address bar or the console, and the server keeps only its hash, so
// a dismissed link cannot be shown again (rotate for a new one).
import type { LabelerFigures, ProjectStats } from '../protocol/project.js';
import type { Role } from '../protocol/wire.js';
import { dialog, h } from './dom.js';

export interface UserRow { name: string; role: Role; disabled: number; created_at: string }

/** What a section needs from the page: the server's answer to an action shown in the note, then everything re-read. */
export interface Act {
  (method: string, path: string, body?: unknown, done?: (data: Record<string, unknown>) => string): Promise<void>;
}

interface Invite { name: string; role: Role; link: string; rotated: boolean }
const invites: Invite[] = [];

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
export const num = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? '–' : x.toFixed(digits));

/** Keep a token to show as an invite link; a newer one for the same user replaces the older. */
export function addInvite(name: string, role: Role, token: string, rotated: boolean): void {
  const at = invites.findIndex((i) => i.name === name);
  if (at >= 0) invites.splice(at, 1);
  invites.push({ name, role, rotated, link: `${location.origin}/${role === 'labeler' ? 'label' : 'project'}#token=${token}` });
}

async function copy(text: string, input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (an insecure origin, a policy): select it for the user and try the old way.
    input.select();
    return document.execCommand('copy');
  }
}

export function invitesSection(): HTMLElement {
  const box = h('section', { id: 'invites', 'aria-label': 'Invite links' });
  const draw = () => box.replaceChildren(...invites.map((inv) => {
    const input = h('input', { readonly: true, value: inv.link, size: '70', 'aria-label': `sign-in link for ${inv.name}` }) as HTMLInputElement;
    const said = h('span', { class: 'status', role: 'status', 'aria-live': 'polite' });
    return h('div', { class: 'invite', 'data-user': inv.name },
      h('p', {}, h('strong', {}, `${inv.rotated ? 'New sign-in link' : 'Invite link'} for ${inv.name} (${inv.role})`),
        ' — send it to them; it is shown until you dismiss it and cannot be shown again (the server keeps only a hash).'),
      h('p', {}, input, ' ',
        h('button', { type: 'button', onclick: () => void copy(inv.link, input).then((ok) => (said.textContent = ok ? 'copied' : 'press Ctrl+C to copy')) }, `Copy link for ${inv.name}`), ' ',
        h('button', { type: 'button', onclick: () => (invites.splice(invites.indexOf(inv), 1), draw()) }, `Dismiss link for ${inv.name}`), ' ', said));
  }));
  draw();
  return box;
}

function figureCells(l: LabelerFigures | undefined): HTMLElement[] {
  const rate = (n: number | undefined, r: number | null | undefined) => (l ? `${n} (${pct(r)})` : '0');
  return [
    h('td', {}, String(l?.labels ?? 0)), h('td', {}, String(l?.rejected ?? 0)), h('td', {}, rate(l?.skips, l?.skipRate)), h('td', {}, rate(l?.ties, l?.tieRate)),
    h('td', {}, l?.medianSeconds?.toFixed(1) ?? '–'), h('td', {}, l?.gold.answered ? `${pct(l.gold.accuracy)} of ${l.gold.answered}` : '–'),
    h('td', {}, l?.agreement.pairs ? pct(l.agreement.percent) : '–'), h('td', {}, l?.agreement.pairs ? num(l.agreement.kappa) : '–'),
  ];
}

export function usersSection(users: UserRow[], stats: ProjectStats, admin: boolean, act: Act): HTMLElement[] {
  const name = h('input', { placeholder: 'name', id: 'new-name', 'aria-label': 'new user name' }) as HTMLInputElement;
  const role = h('select', { id: 'new-role', 'aria-label': 'new user role' }, ...['labeler', 'researcher', 'admin'].map((r) => h('option', { value: r }, r))) as HTMLSelectElement;
  const path = (u: UserRow, what: string) => `/api/users/${encodeURIComponent(u.name)}/${what}`;
  const rotate = async (u: UserRow) => {
    const yes = await dialog(`Replace ${u.name}'s token?`, `Their current link and sign-in stop working at once; the new link is shown here to send them.`,
      [['no', 'Keep the current token'], ['yes', `Replace ${u.name}'s token`]]);
    if (yes !== 'yes') return;
    await act('POST', path(u, 'token'), undefined, (d) => (addInvite(u.name, u.role, String(d.token), true), `new token for ${u.name}, in the sign-in link below`));
  };
  const add = () => act('POST', '/api/users', { name: name.value.trim(), role: role.value }, (d) => {
    addInvite(String(d.name), d.role as Role, String(d.token), false);
    return `token for ${d.name} (its invite link is below until dismissed): ${d.token}`;
  });
  const heads = ['name', 'role', 'labels', 'rejected', 'skips', 'ties', 'median s/label', 'gold accuracy', 'agreement with others', "Cohen's κ with others", ''];
  return [
    h('h2', {}, 'Labelers'),
    h('table', { id: 'users' }, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t))),
      ...users.map((u) => h('tr', { 'data-user': u.name }, h('td', {}, u.name), h('td', {}, u.role + (u.disabled ? ' (disabled)' : '')),
        ...figureCells(stats.labelers.find((x) => x.name === u.name)),
        h('td', {}, h('button', { type: 'button', onclick: () => void rotate(u), 'aria-label': `new token for ${u.name}` }, 'new token'), ' ',
          u.disabled
            ? h('button', { type: 'button', onclick: () => void act('POST', path(u, 'enable')), 'aria-label': `enable ${u.name}` }, 'enable')
            : h('button', { type: 'button', onclick: () => void act('POST', path(u, 'disable')), 'aria-label': `disable ${u.name}` }, 'disable'))))),
    h('p', {}, name, ' ', role, ' ', h('button', { type: 'button', onclick: () => void add() }, 'Add user'),
      admin ? null : h('span', { class: 'status' }, ' (adding users and replacing tokens needs the admin role)')),
  ];
}
