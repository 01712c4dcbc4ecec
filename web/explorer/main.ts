// The explorer page: pick a guest (or load an image), step it forward and
// back, and see the state with each change since the previous step marked.
// The page's state is in its URL (?guest=NAME&step=N), so a link names one
// step of one guest. Plain DOM; the model itself runs here, bundled.
import data from 'site-data';
import { boot, Timeline, type Snapshot, type Transition } from './session';
import { changedCells, consoleText, eventText, exitReason, hex32, inspect, instructionAt, writesPort, type Section } from './inspect';
import { appliedRules, outcomeRules } from './explain';

interface GuestData { name: string; title: string; source: string; meso: boolean; image: string; symbols: [string, number][] }
interface RuleData { page: string; sentence: string; text: string }
const guests = (data as { guests: GuestData[] }).guests;
const rules = (data as { rules: Record<string, RuleData> }).rules;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** A rule id as a link to its paragraph, with the spec's sentence as its title. */
function ruleLink(id: string): HTMLElement {
  const r = rules[id];
  if (r === undefined) return el('span', { class: 'rule unknown', title: 'not defined in spec/' }, id);
  return el('a', { class: 'rule', href: `${r.page}#${id}`, title: r.text }, id);
}

// ------------------------------------------------------------------ state

interface Run {
  readonly name: string;
  readonly title: string;
  readonly meso: boolean;
  /** Shareable by URL: only the bundled guests are. */
  readonly bundled: boolean;
  readonly symbols: readonly (readonly [string, number])[];
  readonly timeline: Timeline;
}

let run: Run | null = null;
let current = 0;
let busy = false;
let stopRequested = false;

function where(eip: number): string {
  if (run === null) return '';
  let best: readonly [string, number] | null = null;
  for (const s of run.symbols) if (s[1] <= eip && (best === null || s[1] >= best[1])) best = s;
  if (best === null || eip - best[1] > 0x10000) return '';
  return eip === best[1] ? ` <${best[0]}>` : ` <${best[0]}+0x${(eip - best[1]).toString(16)}>`;
}

function start(r: Omit<Run, 'timeline'>, image: Uint8Array): boolean {
  const b = boot(image, r.meso);
  if (b.kind === 'error') {
    showError(`${r.name}: ${b.message}`);
    return false;
  }
  run = { ...r, timeline: new Timeline(b.snapshot) };
  current = 0;
  return true;
}

function startBundled(name: string): boolean {
  const g = guests.find((x) => x.name === name);
  if (g === undefined) {
    showError(`no bundled guest named '${name}' (there are: ${guests.map((x) => x.name).join(', ')})`);
    return false;
  }
  $<HTMLSelectElement>('guest').value = g.name;
  return start({ name: g.name, title: g.title, meso: g.meso, bundled: true, symbols: g.symbols }, decodeBase64(g.image));
}

function showError(text: string): void {
  $('error').textContent = text;
  $('error').hidden = text === '';
}

// ----------------------------------------------------------------- render

function sectionTable(s: Section, changed: ReadonlySet<string>): HTMLElement {
  const table = el('table', { class: 'state', 'data-section': s.id });
  if (s.columns.some((c) => c !== '')) table.append(el('thead', {}, el('tr', {}, ...s.columns.map((c) => el('th', {}, c)))));
  const body = el('tbody');
  for (const r of s.rows) {
    const tr = el('tr', { 'data-key': r.key });
    r.cells.forEach((c, i) => tr.append(el('td', changed.has(`${s.id}/${r.key}/${i}`) ? { class: 'changed' } : {}, c)));
    body.append(tr);
  }
  table.append(body);
  const box = el('section', { class: `panel panel-${s.id}`, id: `panel-${s.id}` }, el('h2', {}, s.title));
  if (s.note !== undefined) box.append(el('p', { class: 'note' }, s.note));
  if (s.rows.length > 0) box.append(table);
  return box;
}

function stepPanel(n: number, before: Snapshot | null, after: Snapshot, t: Transition | null): HTMLElement {
  const box = el('section', { class: 'panel panel-step', id: 'this-step' }, el('h2', {}, n === 0 ? 'As booted' : `Step ${n}`));
  if (before !== null && t !== null) {
    const executed = instructionAt(before.machine);
    const who = t.world === null ? '' : { guest: 'guest: ', exit: 'exit into the monitor: ', monitor: "the monitor's IRET: ", end: 'end: ' }[t.world.kind];
    box.append(el('p', { class: 'event', id: 'event' }, `${who}${eventText(t.event)}`));
    if (executed !== null) box.append(el('p', {}, 'at ', el('code', {}, `${hex32(before.machine.eip)}${where(before.machine.eip)}`), '  ', el('code', { class: 'instr' }, executed.text)));
    if (t.world?.kind === 'end') box.append(el('p', { class: 'end' }, `run over: ${t.world.reason}`));
    const reason = before.vmm !== null && after.vmm !== null ? exitReason(before.vmm.exits, after.vmm.exits) : null;
    if (reason !== null) box.append(el('p', { class: 'exit' }, `monitor: ${reason}`));
    const { raisedBy, handledBy } = outcomeRules(t);
    if (raisedBy !== null) box.append(el('p', { class: 'raised', id: 'raised-by' }, 'raised by ', ruleLink(raisedBy), rules[raisedBy] ? el('span', { class: 'sentence', title: rules[raisedBy]!.text }, ` — ${rules[raisedBy]!.sentence}`) : ''));
    if (handledBy.length > 0) {
      box.append(el('p', { class: 'handled', id: 'handled-by' }, 'the monitor handled it by ', ...handledBy.flatMap((u, i) => [i > 0 ? ', ' : '', ruleLink(u.id), u.note !== undefined ? ` (${u.note})` : ''])));
    }
    const applied = appliedRules(before);
    if (applied.length > 0) {
      const list = el('ol', { class: 'rules', id: 'rules' });
      for (const u of applied) {
        list.append(el('li', {}, ruleLink(u.id), u.note !== undefined ? ` ${u.note}` : '', u.count > 1 ? ` (×${u.count})` : ''));
      }
      box.append(el('details', { class: 'applied', open: '' }, el('summary', {}, `Rules this step applied (${applied.length})`), list));
    }
  }
  const next = instructionAt(after.machine);
  box.append(el('p', { class: 'next' }, 'next: ', el('code', {}, `${hex32(after.machine.eip)}${where(after.machine.eip)}`), '  ', el('code', { class: 'instr', id: 'next-instr' }, next?.text ?? '(not readable)')));
  return box;
}

function eventLog(n: number): HTMLElement {
  const box = el('section', { class: 'panel panel-log', id: 'panel-log' }, el('h2', {}, 'Events so far (not plain instructions)'));
  const steps = [...run!.timeline.notable.keys()].filter((k) => k <= n).sort((a, b) => a - b).slice(-12);
  const list = el('ol', { class: 'log' });
  for (const k of steps) {
    const t = run!.timeline.notable.get(k)!;
    const link = el('a', { href: shareUrl(k) }, `step ${k}`);
    link.addEventListener('click', (e) => { e.preventDefault(); void goTo(k); });
    const o = outcomeRules(t);
    const named = [...(o.raisedBy !== null ? [o.raisedBy] : []), ...o.handledBy.map((u) => u.id)];
    list.append(el('li', {}, link, `: ${t.world?.kind === 'exit' ? 'exit: ' : ''}${eventText(t.event)} `, ...named.flatMap((id) => [ruleLink(id), ' '])));
  }
  box.append(list);
  return box;
}

function shareUrl(n: number): string {
  if (run === null || !run.bundled) return '#';
  return `?guest=${encodeURIComponent(run.name)}&step=${n}`;
}

function render(): void {
  if (run === null) return;
  const here = run.timeline.at(current);
  current = here.step;
  const prev = current > 0 ? run.timeline.at(current - 1) : null;
  const now = inspect(here.snapshot, prev?.snapshot ?? null, here.transition);
  const before = prev === null ? null : inspect(prev.snapshot, current > 1 ? run.timeline.at(current - 2).snapshot : null, prev.transition);
  const changed = changedCells(now, before);
  const panels = $('panels');
  panels.replaceChildren(stepPanel(current, prev?.snapshot ?? null, here.snapshot, here.transition), ...now.map((s) => sectionTable(s, changed)), eventLog(current));
  const text = consoleText(here.snapshot.machine);
  const previousText = prev === null ? '' : consoleText(prev.snapshot.machine);
  $('console').replaceChildren(text.slice(0, previousText.length), ...(text.length > previousText.length ? [el('span', { class: 'changed' }, text.slice(previousText.length))] : []));
  const end = run.timeline.end;
  $('position').textContent = `${run.name}${run.meso ? ' (under the monitor)' : ''}: step ${current}${end !== null ? ` of ${end} (the run ends there)` : ''}`;
  $<HTMLInputElement>('step-number').value = String(current);
  const share = $<HTMLAnchorElement>('share');
  share.hidden = !run.bundled;
  share.href = shareUrl(current);
  if (run.bundled) history.replaceState(null, '', shareUrl(current));
  $<HTMLButtonElement>('back').disabled = current === 0;
  $<HTMLButtonElement>('step').disabled = end !== null && current >= end;
}

// ----------------------------------------------------------------- running

/** Steps between two looks at the Stop button. */
const SLICE = 20_000;

/** Run in slices so the page stays responsive, with a Stop button. */
async function runUntil(stop: (t: Transition, before: Snapshot, after: Snapshot) => boolean, limit: number): Promise<void> {
  if (run === null || busy) return;
  busy = true;
  stopRequested = false;
  document.body.classList.add('busy');
  let left = limit;
  try {
    for (;;) {
      const from = current;
      let hit = false;
      current = run.timeline.runUntil(current, (t, b, a) => (hit = stop(t, b, a)), Math.min(SLICE, left));
      left -= current - from;
      const end = run.timeline.end;
      if (hit || left <= 0 || stopRequested || current === from || (end !== null && current >= end)) break;
      $('position').textContent = `${run.name}: running… step ${current}`;
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    busy = false;
    document.body.classList.remove('busy');
  }
  render();
}

async function goTo(n: number): Promise<void> {
  if (run === null || busy) return;
  const target = Math.max(0, Math.floor(n));
  busy = true;
  stopRequested = false;
  document.body.classList.add('busy');
  try {
    if (target <= current) current = run.timeline.at(target).step;
    while (current < target && !stopRequested) {
      const r = run.timeline.at(Math.min(target, current + SLICE));
      if (r.step === current) break;
      current = r.step;
      if (current < target) {
        $('position').textContent = `${run.name}: running… step ${current}`;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
  } finally {
    busy = false;
    document.body.classList.remove('busy');
  }
  render();
}

const RUN_LIMIT = 10_000_000;

const isFault = (t: Transition): boolean => t.event?.kind === 'exception' || t.event?.kind === 'shutdown' || t.event?.kind === 'model-error';

function wire(): void {
  const select = $<HTMLSelectElement>('guest');
  for (const g of guests) select.append(el('option', { value: g.name }, `${g.name} — ${g.title}`));
  select.addEventListener('change', () => { if (startBundled(select.value)) { showError(''); render(); } });
  $<HTMLInputElement>('image').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file === undefined) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const meso = $<HTMLInputElement>('meso').checked;
    if (start({ name: file.name, title: file.name, meso, bundled: false, symbols: [] }, bytes)) {
      showError('');
      history.replaceState(null, '', location.pathname);
      render();
    }
  });
  $('reset').addEventListener('click', () => void goTo(0));
  $('back').addEventListener('click', () => void goTo(current - 1));
  $('step').addEventListener('click', () => void goTo(current + 1));
  $('to-port').addEventListener('click', () => void runUntil((_t, before) => writesPort(before.machine), RUN_LIMIT));
  $('to-fault').addEventListener('click', () => void runUntil((t) => isFault(t), RUN_LIMIT));
  $('to-exit').addEventListener('click', () => void runUntil((t) => t.world?.kind === 'exit', RUN_LIMIT));
  $('to-end').addEventListener('click', () => void runUntil(() => false, RUN_LIMIT));
  $('stop').addEventListener('click', () => { stopRequested = true; });
  $('go').addEventListener('click', () => void goTo(Number($<HTMLInputElement>('step-number').value)));
  document.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).tagName === 'INPUT' || busy) return;
    if (e.key === 'ArrowRight') void goTo(current + 1);
    if (e.key === 'ArrowLeft') void goTo(current - 1);
  });
}

async function main(): Promise<void> {
  wire();
  const params = new URLSearchParams(location.search);
  const name = params.get('guest') ?? 'hello';
  const step = Number(params.get('step') ?? '0');
  if (!startBundled(name)) return;
  render();
  if (Number.isInteger(step) && step > 0) await goTo(step);
  document.body.dataset.ready = 'true';
}

void main();
