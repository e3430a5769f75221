// Model text as a reader expects Markdown to look, built as DOM nodes: fenced code blocks (``` or ~~~,
// shown as a block with its language), `inline code` and **bold**; everything else, line breaks included
// (the CSS keeps white space), is text. Nothing here ever parses HTML: a <script> in a completion is
// the eight characters it is. Underscores are never emphasis: model text is full of snake_case and
// __dunder__ names, and a reader who sees them vanish can no longer judge the completion.

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n`]*$/;

type Part = Node | string;

/** The nodes for `text`: append them to any element whose CSS keeps white space (white-space: pre-wrap). */
export function markdown(text: string): Part[] {
  const out: Part[] = [];
  const lines = text.split('\n');
  let prose: string[] = [];
  const flush = () => {
    if (prose.length) out.push(...inline(prose.join('\n'))); // the line break next to a block is the block's edge
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) {
      prose.push(lines[i]);
      continue;
    }
    flush();
    const [marker, lang] = [open[1], open[2]];
    const body: string[] = [];
    // closed by a line of the same character, at least as long; a fence never closed (output cut off by
    // the token limit) runs to the end
    for (i++; i < lines.length && !new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`).test(lines[i]); i++) body.push(lines[i]);
    out.push(codeBlock(body.join('\n'), lang));
  }
  flush();
  return out;
}

function codeBlock(code: string, lang: string): HTMLElement {
  const pre = document.createElement('pre');
  pre.className = 'code';
  pre.tabIndex = 0; // a wide block scrolls inside itself; keyboard users can scroll it too
  if (lang) {
    pre.dataset.lang = lang;
    pre.setAttribute('aria-label', `code, ${lang}`);
    const tag = document.createElement('span');
    tag.className = 'lang';
    tag.textContent = lang;
    tag.setAttribute('aria-hidden', 'true');
    pre.append(tag);
  } else pre.setAttribute('aria-label', 'code');
  const el = document.createElement('code');
  el.textContent = code;
  pre.append(el);
  return pre;
}

/** `code` spans (a run of backticks closed by a run of the same length) first, then **bold** in what is left. */
function inline(text: string): Part[] {
  const out: Part[] = [];
  const runs = /`+/g;
  let from = 0;
  for (let m = runs.exec(text); m; m = runs.exec(text)) {
    const closing = /`+/g;
    closing.lastIndex = m.index + m[0].length;
    let close = closing.exec(text);
    while (close && close[0].length !== m[0].length) close = closing.exec(text);
    if (!close) continue; // an unmatched run is text
    out.push(...bold(text.slice(from, m.index)));
    const code = document.createElement('code');
    code.textContent = text.slice(m.index + m[0].length, close.index);
    out.push(code);
    from = runs.lastIndex = close.index + close[0].length;
  }
  out.push(...bold(text.slice(from)));
  return out;
}

function bold(text: string): Part[] {
  const out: Part[] = [];
  const re = /\*\*(?=\S)([\s\S]*?\S)\*\*/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const b = document.createElement('strong');
    b.textContent = m[1];
    out.push(b);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
