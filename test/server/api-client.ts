// The HTTP calls the server tests make: a method and a path as a user (bearer token), a body sent as JSON
// (or, as a string, exactly as given: malformed on purpose), and the reply with its JSON parsed when it is JSON.
export interface Reply {
  status: number;
  text: string;
  // any: each test reads the fields it expects of that route
  data: any;
  headers: Headers;
}

export function apiClient(base: () => string): (token: string, method: string, path: string, body?: unknown) => Promise<Reply> {
  return async (token, method, path, body) => {
    const res = await fetch(base() + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, data: res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : null, headers: res.headers };
  };
}
