// The bar at the top of every page: links between the pages (labeling, project, runs), who is signed in,
// and sign out. Signing out makes this browser forget its token (the token itself stays valid: an admin
// rotates or disables it on the project page) and shows the sign-in form.
import { h, TOKEN_KEY } from './dom.js';

export type PageName = 'label' | 'project' | 'dashboard';

const PAGES: [PageName, string, string][] = [['label', '/label', 'Label'], ['project', '/project', 'Project'], ['dashboard', '/dashboard', 'Runs']];

/** `beforeSignOut` closes what the page holds open (its socket) before the page reloads signed out. */
export function navBar(current: PageName, beforeSignOut: () => void = () => {}): { nav: HTMLElement; setUser(name: string, role: string): void } {
  const who = h('span', { class: 'who', id: 'who' });
  const signOut = h('button', {
    type: 'button', id: 'sign-out',
    onclick: () => {
      beforeSignOut();
      localStorage.removeItem(TOKEN_KEY);
      location.assign(location.pathname); // a fresh page: nothing of the signed-out user stays in memory
    },
  }, 'Sign out');
  const nav = h('nav', { class: 'pages', 'aria-label': 'pages' },
    h('ul', {}, ...PAGES.map(([page, href, label]) => h('li', {}, h('a', { href, ...(page === current ? { 'aria-current': 'page' } : {}) }, label)))),
    who, signOut);
  return { nav, setUser: (name, role) => (who.textContent = `signed in as ${name} (${role})`) };
}
