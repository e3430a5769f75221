// Live events over WebSocket at /ws. The upgrade is authenticated (the token rides in the subprotocol
// "bearer.<token>", since browsers cannot set headers on a WebSocket); frames over 4 KiB close that
// socket only (1009); a ping every 15 s drops dead peers; a client whose send buffer passes the cap
// gets no more events until it drains, and is closed if it stays over, so a slow reader costs the
// server bounded memory and never delays the others.
// A socket is as good as its token: when the user is disabled or their token replaced, their sockets
// close (4401) at once for changes made through this server's store, and within REVALIDATE_MS for changes
// from another process (a CLI beside the server), noticed through the store's cache_version counter.
// Tasks added by another process (rlhf tasks add writes the store directly) are noticed the same way,
// within REVALIDATE_MS, by the highest task id (max of the integer primary key: one b-tree descent), and
// announced like the API's own ('tasks'), so a labeler waiting on an empty queue gets them. The id, not
// PRAGMA data_version: that one moves on every label commit of the server's own writer thread.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WS_REVOKED, WS_TOKEN_PREFIX } from '../protocol/wire.js';
import { ROLES, Role, Store, User } from '../data/store.js';

const MAX_FRAME = 4096;
const SEND_CAP = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const REVALIDATE_MS = 1000;
// WS_REVOKED (4401, in the application's 4000-4999 range): the close code of a socket whose token no longer authenticates
export { WS_REVOKED };

/** The bearer token a WebSocket upgrade offers in its `bearer.<token>` subprotocol, if any. */
export function offeredToken(req: IncomingMessage): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  return offered.find((p) => p.startsWith(WS_TOKEN_PREFIX))?.slice(WS_TOKEN_PREFIX.length);
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, handleProtocols: (p) => [...p].find((x) => x.startsWith(WS_TOKEN_PREFIX)) ?? false });
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly overCap = new WeakMap<WebSocket, number>();
  // Who a socket belongs to: the token it was opened with (kept only in memory, like the request path's
  // auth cache), the user's id, and the role events are filtered by (updated when it changes).
  private readonly owners = new WeakMap<WebSocket, { token: string; id: number; role: Role }>();
  private readonly timer: NodeJS.Timeout;
  private readonly recheck: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private version: number;
  private lastTask: number;
  private readonly maxTask;
  /** Events not sent because a client's buffer was full (for tests and monitoring). */
  dropped = 0;

  constructor(private readonly store: Store, revalidateMs = REVALIDATE_MS) {
    this.version = store.usersVersion();
    this.maxTask = store.db.prepare('SELECT max(id) FROM tasks').pluck();
    this.lastTask = this.highestTask();
    this.unsubscribe = store.onUsersChanged(() => this.revalidate());
    this.recheck = setInterval(() => {
      if (!this.store.db.open) return; // closed under a hub not yet closed
      this.checkTasks();
      const v = this.store.usersVersion();
      if (v === this.version) return;
      this.version = v;
      // a little later: the auth cache reads the same counter at most once a millisecond
      setTimeout(() => this.revalidate(), 2).unref();
    }, revalidateMs);
    this.recheck.unref();
    this.timer = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (this.alive.get(ws) === false) ws.terminate();
        else {
          this.alive.set(ws, false);
          ws.ping();
        }
      }
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const refuse = (code: number, why: string) => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return refuse(404, 'Not Found');
    const token = offeredToken(req);
    const user = token ? this.store.authenticate(token) : null;
    if (!user) return refuse(401, 'Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, user, token!));
  }

  private connected(ws: WebSocket, user: User, token: string): void {
    this.alive.set(ws, true);
    this.owners.set(ws, { token, id: user.id, role: user.role });
    ws.on('pong', () => this.alive.set(ws, true));
    ws.on('error', () => ws.terminate()); // e.g. a frame over maxPayload: ws has already sent 1009
    ws.on('message', () => {}); // the page only listens; messages are ignored
    ws.send(JSON.stringify({ type: 'hello', name: user.name, role: user.role }));
  }

  private highestTask(): number {
    return (this.maxTask.get() as number | null) ?? 0;
  }

  /** Announce tasks that another process added since the last look (only while someone is connected to hear it). */
  checkTasks(): void {
    if (!this.wss.clients.size) return;
    const top = this.highestTask();
    if (top > this.lastTask) this.broadcast({ type: 'tasks', added: top - this.lastTask });
  }

  /** Send to every client whose role is at least minRole (run metrics and samples: researchers and admins). */
  broadcast(event: object, minRole: Role = 'labeler'): void {
    // the API's own announcement covers every task up to now: the next look does not repeat it
    if ((event as { type?: string }).type === 'tasks') this.lastTask = this.highestTask();
    const data = JSON.stringify(event);
    const least = ROLES.indexOf(minRole);
    for (const ws of this.wss.clients) {
      if (ws.readyState !== WebSocket.OPEN || ROLES.indexOf(this.owners.get(ws)!.role) < least) continue;
      if (ws.bufferedAmount > SEND_CAP) {
        this.dropped++;
        const n = (this.overCap.get(ws) ?? 0) + 1;
        this.overCap.set(ws, n);
        if (n > 100) ws.terminate(); // it has not read anything for 100 events
        continue;
      }
      this.overCap.set(ws, 0);
      ws.send(data);
    }
  }

  /**
   * Re-authenticate every open socket: one whose token no longer works (user disabled, token replaced)
   * is closed with 4401 and gets no further event; a changed role takes effect for the next event.
   */
  revalidate(): void {
    if (!this.store.db.open) return;
    for (const ws of this.wss.clients) {
      const o = this.owners.get(ws);
      if (!o || ws.readyState !== WebSocket.OPEN) continue;
      const user = this.store.authenticate(o.token);
      if (!user || user.id !== o.id) ws.close(WS_REVOKED, 'token revoked or user disabled');
      else o.role = user.role;
    }
  }

  get clients(): number {
    return this.wss.clients.size;
  }

  close(): void {
    clearInterval(this.timer);
    clearInterval(this.recheck);
    this.unsubscribe();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
