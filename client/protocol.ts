// Messages between the server and the browser pages: the one module both sides import.

export type Role = 'labeler' | 'researcher' | 'admin';

export interface TaskView {
  id: number;
  prompt: string;
  /** In display order; a label's ranking lists these positions, best first. */
  completions: { position: number; text: string }[];
}

export interface LabelRequest {
  taskId: number;
  /** Chosen by the client once per label; resubmitting the same id is harmless. */
  clientId: string;
  kind: 'ranking' | 'tie' | 'skip';
  ranking?: number[];
  rationale?: string;
  ms?: number;
}

export interface LabelAck {
  id: number;
  created: boolean;
}

export interface Me {
  name: string;
  role: Role;
  labeled: number;
}

/** Server -> client over the WebSocket at /ws. */
export type ServerEvent =
  | { type: 'hello'; name: string; role: Role }
  | { type: 'tasks'; added: number }
  | { type: 'labels'; total: number }
  | { type: 'settings'; overlap: number };

/** The subprotocol prefix that carries the bearer token on the WebSocket upgrade (browsers cannot set headers). */
export const WS_TOKEN_PREFIX = 'bearer.';
