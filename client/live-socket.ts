// The pages' live connection: a WebSocket to /ws carrying the signed-in user's token, reopened after it
// drops (a server restart, a network blip) with the same token, waiting 1, 2, 4 s and then every 5 s
// between tries, until it is open again; the page is told when it is, so it can fetch what it missed. A
// socket closed with WS_REVOKED, or a token the server refuses (GET /api/me answers 401), signs the page
// out: no more tries. Nothing here throws into the page while the server is away.
import { WS_REVOKED, WS_TOKEN_PREFIX, type ServerEvent } from '../protocol/wire.js';
import { api, TOKEN_KEY } from './dom.js';

const MAX_WAIT_MS = 5000;

export interface LiveHandlers {
  onEvent(e: ServerEvent): void;
  /** 'live', 'down' (with the seconds to the next try) or 'signed-out'. */
  onStatus(state: 'live' | 'down' | 'signed-out', text: string): void;
  /** The socket is open again after a drop: what was sent meanwhile is lost, fetch it. */
  onReopen(): void;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private tries = 0;
  private everOpen = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly on: LiveHandlers) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Close for good (signing out). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
  }

  private open(): void {
    const token = localStorage.getItem(TOKEN_KEY);
    if (!token) return this.signedOut('signed out');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, [WS_TOKEN_PREFIX + token]);
    this.ws = ws;
    ws.onopen = () => {
      const again = this.everOpen;
      this.everOpen = true;
      this.tries = 0;
      this.on.onStatus('live', 'live');
      if (again) this.on.onReopen();
    };
    ws.onmessage = (m) => {
      let e: ServerEvent;
      try {
        e = JSON.parse(String(m.data)) as ServerEvent;
      } catch {
        return; // not ours
      }
      this.on.onEvent(e);
    };
    ws.onclose = (e) => {
      if (this.stopped || ws !== this.ws) return;
      if (e.code === WS_REVOKED) return this.signedOut('signed out: this token no longer works');
      const wait = Math.min(MAX_WAIT_MS, 1000 * 2 ** this.tries++);
      this.on.onStatus('down', `reconnecting… (next try in ${Math.round(wait / 1000)} s)`);
      this.timer = setTimeout(() => void this.retry(), wait);
    };
  }

  /** Before reopening: a server that is up and refuses the token means the page is signed out. */
  private async retry(): Promise<void> {
    if (this.stopped) return;
    try {
      const me = await api('GET', '/api/me');
      if (me.status === 401) return this.signedOut('signed out: this token no longer works');
    } catch {
      // the server is still away: the socket's own failure schedules the next try
    }
    if (!this.stopped) this.open();
  }

  private signedOut(text: string): void {
    this.stopped = true;
    this.on.onStatus('signed-out', text);
  }
}
