// The dashboard's launch form, built from a run kind's config schema (GET /api/run-kinds): one labelled
// input per top-level field, its description as help and its default pre-filled; an enum is a select, a
// boolean a checkbox, a list of strings one value per line, an object (lora, init, onlineFeedback) its JSON.
// The JSON textarea beside it stays the source of truth: editing a field writes that field into the JSON
// (an emptied field takes it out, so the default applies), and editing the JSON updates the fields. Fields
// the schema does not know stay in the JSON untouched. Text goes in through textContent and .value only.
import type { JsonSchema } from '../protocol/wire.js';
import { h } from './dom.js';

const nonNull = (s: JsonSchema): JsonSchema => {
  const rest = s.anyOf?.filter((x) => x.type !== 'null');
  return rest?.length === 1 ? rest[0] : s;
};
const isNullable = (s: JsonSchema) => Boolean(s.anyOf?.some((x) => x.type === 'null'));
const enumOf = (s: JsonSchema): string[] | null =>
  s.enum ?? (s.anyOf?.length && s.anyOf.every((x) => typeof x.const === 'string') ? s.anyOf.map((x) => x.const as string) : null);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One field's control: its element, how to show a value in it, and how to read it back (undefined: leave the field out). */
interface Control {
  el: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  show(v: unknown): void;
  read(): { ok: true; value: unknown } | { ok: false };
}

function control(name: string, s: JsonSchema): Control {
  const inner = nonNull(s);
  const nullable = isNullable(s);
  const id = `launch-field-${name}`;
  const values = enumOf(inner);
  if (values) {
    const el = h('select', { id, 'data-field': name }, ...(nullable ? [h('option', { value: '' }, '(none)')] : []), ...values.map((v) => h('option', { value: v }, v))) as HTMLSelectElement;
    return { el, show: (v) => (el.value = typeof v === 'string' ? v : ''), read: () => ({ ok: true, value: el.value === '' ? null : el.value }) };
  }
  if (inner.type === 'boolean') {
    const el = h('input', { id, type: 'checkbox', 'data-field': name }) as HTMLInputElement;
    return { el, show: (v) => (el.checked = v === true), read: () => ({ ok: true, value: el.checked }) };
  }
  if (inner.type === 'integer' || inner.type === 'number') {
    const el = h('input', { id, type: 'number', 'data-field': name, step: inner.type === 'integer' ? '1' : 'any' }) as HTMLInputElement;
    const lo = inner.minimum ?? inner.exclusiveMinimum;
    const hi = inner.maximum ?? inner.exclusiveMaximum;
    if (lo !== undefined) el.min = String(lo);
    if (hi !== undefined) el.max = String(hi);
    return {
      el,
      show: (v) => (el.value = typeof v === 'number' ? String(v) : ''),
      read: () => {
        if (el.value.trim() === '') return { ok: true, value: undefined };
        const n = Number(el.value);
        return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
      },
    };
  }
  if (inner.type === 'array' && nonNull(inner.items ?? {}).type === 'string') {
    const el = h('textarea', { id, rows: '2', 'data-field': name, spellcheck: 'false', placeholder: 'one per line' }) as HTMLTextAreaElement;
    return {
      el,
      show: (v) => (el.value = Array.isArray(v) ? v.map(String).join('\n') : ''),
      read: () => {
        const list = el.value.split('\n').map((x) => x.trim()).filter(Boolean);
        return { ok: true, value: list.length ? list : undefined };
      },
    };
  }
  if (inner.type === 'string') {
    const el = h('input', { id, type: 'text', 'data-field': name, spellcheck: 'false' }) as HTMLInputElement;
    return { el, show: (v) => (el.value = typeof v === 'string' ? v : ''), read: () => ({ ok: true, value: el.value === '' ? (nullable ? null : undefined) : el.value }) };
  }
  // an object or anything else: its JSON
  const el = h('textarea', { id, rows: '2', 'data-field': name, spellcheck: 'false', placeholder: nullable ? 'null' : 'JSON' }) as HTMLTextAreaElement;
  return {
    el,
    show: (v) => (el.value = v === undefined || v === null ? '' : JSON.stringify(v)),
    read: () => {
      if (el.value.trim() === '') return { ok: true, value: nullable ? null : undefined };
      try {
        return { ok: true, value: JSON.parse(el.value) };
      } catch {
        return { ok: false };
      }
    },
  };
}

/**
 * The form for one kind's schema, kept consistent with `config` (the JSON textarea): its fields write into
 * the JSON as they are edited; call sync() whenever the JSON changed (the textarea's input events, and
 * after setting its value from code) to show it in the fields.
 */
export function launchForm(schema: JsonSchema, config: HTMLTextAreaElement): { form: HTMLElement; sync: () => void } {
  const controls = new Map<string, [Control, JsonSchema]>();
  const rows: HTMLElement[] = [];
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const c = control(name, s);
    controls.set(name, [c, s]);
    const required = schema.required?.includes(name) && s.default === undefined;
    const help = `${s.description ?? ''}${s.default !== undefined ? ` (default ${JSON.stringify(s.default)})` : required ? ' (required)' : ''}`;
    const onEdit = () => {
      const r = c.read();
      c.el.classList.toggle('invalid', !r.ok);
      let cfg: unknown;
      try {
        cfg = JSON.parse(config.value || '{}');
      } catch {
        cfg = null;
      }
      if (!r.ok || !isObject(cfg)) return;
      if (r.value === undefined) delete cfg[name];
      else cfg[name] = r.value;
      config.value = JSON.stringify(cfg, null, 2);
      config.classList.remove('invalid');
    };
    c.el.addEventListener(c.el instanceof HTMLSelectElement || (c.el instanceof HTMLInputElement && c.el.type === 'checkbox') ? 'change' : 'input', onEdit);
    const row = h('div', { class: 'field' }, h('label', { for: c.el.id }, name), c.el, h('small', { class: 'help' }, help));
    row.style.display = 'contents'; // CSSOM, not a style attribute: the pages' CSP has no 'unsafe-inline'
    rows.push(row);
  }
  const sync = () => {
    let cfg: unknown;
    try {
      cfg = JSON.parse(config.value || '{}');
    } catch {
      config.classList.add('invalid');
      return; // mid-edit: the fields keep what they show until the JSON parses again
    }
    config.classList.toggle('invalid', !isObject(cfg));
    if (!isObject(cfg)) return;
    for (const [name, [c, s]] of controls) {
      c.show(Object.hasOwn(cfg, name) ? cfg[name] : s.default);
      c.el.classList.remove('invalid');
    }
  };
  sync();
  const form = h('div', { class: 'launch-form', id: 'launch-form' }, ...rows);
  Object.assign(form.style, { display: 'grid', gridTemplateColumns: 'max-content minmax(10em, 22em) 1fr', gap: '4px 12px', alignItems: 'center', margin: '8px 0' });
  return { form, sync };
}
