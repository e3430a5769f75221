// What went wrong in a JSON text, without quoting it. V8's SyntaxError messages quote the start of the text
// ("Unexpected token 'r', "root:x:0:0:"... is not valid JSON"), and an error message travels: to a run's
// log, to its error field, to the API. A run launched through the API must never turn a file it may not
// read into an error message, so every parse error of an input file says only where the text broke.
export function jsonError(e: unknown): string {
  const m = /position (\d+)/.exec(e instanceof Error ? e.message : '');
  if (m) return `bad JSON (at character ${Number(m[1]) + 1})`;
  return e instanceof Error && /end of JSON input/.test(e.message) ? 'bad JSON (it ends too early)' : 'bad JSON';
}

/** JSON.parse, with a message that names the place (file:line) and never quotes the text. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${where}: ${jsonError(e)}`);
  }
}
