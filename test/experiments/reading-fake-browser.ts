// Runs the reading page's own script in a node:vm context with just enough of a DOM
// (elements by id, click and keydown listeners, localStorage, Blob download) to drive it
// as a reader would: type keys, click buttons, export. No browser engine: what is checked is
// the page's logic and wiring, not its look.
import vm from 'node:vm';

interface FakeElement {
  id: string;
  tagName: string;
  textContent: string;
  value: string;
  src: string;
  href: string;
  download: string;
  dataset: Record<string, string>;
  children: FakeElement[];
  classes: Set<string>;
  classList: { toggle(name: string, on?: boolean): void; contains(name: string): boolean };
  listeners: Record<string, ((e: unknown) => void)[]>;
  addEventListener(type: string, f: (e: unknown) => void): void;
  appendChild(c: FakeElement): void;
  closest(sel: string): FakeElement | null;
  focus(): void;
  blur(): void;
  click(): void;
  remove(): void;
}

function element(id = '', tagName = 'DIV'): FakeElement {
  const el: FakeElement = {
    id, tagName, textContent: '', value: '', src: '', href: '', download: '', dataset: {}, children: [], classes: new Set(), listeners: {},
    classList: {
      toggle: (name, on) => void ((on ?? !el.classes.has(name)) ? el.classes.add(name) : el.classes.delete(name)),
      contains: (name) => el.classes.has(name),
    },
    addEventListener: (type, f) => void (el.listeners[type] ??= []).push(f),
    appendChild: (c) => void el.children.push(c),
    closest: (sel) => (sel === 'button' && el.tagName === 'BUTTON' ? el : null),
    focus: () => {},
    blur: () => {},
    click: () => {},
    remove: () => {},
  };
  return el;
}

export interface FakeBrowser {
  /** localStorage as the page left it. */
  storage: Map<string, string>;
  alerts: string[];
  /** What the page offered for download: file name and text. */
  downloads: { name: string; text: string }[];
  /** The image the page shows now. */
  shownSrc(): string;
  key(key: string): void;
  /** Clicks a button that has these data attributes or this id. */
  click(button: { id?: string; dataset?: Record<string, string> }): void;
  typeReader(name: string): void;
  overviewDone(): boolean[];
}

/** Loads a reading page (its kit JSON and script); `storage` carries localStorage over from an earlier visit. */
export function openReadingPage(html: string, storage = new Map<string, string>(), confirmAnswer = true): FakeBrowser {
  const kit = /<script type="application\/json" id="kit">([\s\S]*?)<\/script>/.exec(html);
  const script = /<script>([\s\S]*?)<\/script>/.exec(html);
  if (!kit || !script) throw new Error('reading page: kit data or script not found');
  const els = new Map<string, FakeElement>();
  const byId = (id: string) => {
    if (id === 'kit') return { textContent: kit[1] };
    if (!els.has(id)) els.set(id, element(id, id === 'reader' ? 'INPUT' : 'DIV'));
    return els.get(id)!;
  };
  const docListeners: Record<string, ((e: unknown) => void)[]> = {};
  const alerts: string[] = [];
  const downloads: { name: string; text: string }[] = [];
  const blobs = new Map<string, string>();
  const document = {
    getElementById: byId,
    querySelectorAll: () => [],
    addEventListener: (type: string, f: (e: unknown) => void) => void (docListeners[type] ??= []).push(f),
    createElement: (tag: string) => {
      const a = element('', tag.toUpperCase());
      a.click = () => void downloads.push({ name: a.download, text: blobs.get(a.href) ?? '' });
      return a;
    },
    body: { appendChild: () => {} },
  };
  const context = {
    document,
    localStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, String(v)) },
    alert: (m: string) => void alerts.push(m),
    confirm: () => confirmAnswer,
    Blob: class { constructor(readonly parts: string[]) {} },
    URL: {
      createObjectURL: (b: { parts: string[] }) => {
        const url = `blob:${blobs.size}`;
        blobs.set(url, b.parts.join(''));
        return url;
      },
      revokeObjectURL: () => {},
    },
    setTimeout: () => 0,
  };
  vm.runInNewContext(script[1], context, { filename: 'reading.html' });
  const fire = (type: string, e: unknown) => { for (const f of docListeners[type] ?? []) f(e); };
  return {
    storage, alerts, downloads,
    shownSrc: () => (byId('photo') as FakeElement).src,
    key: (key) => fire('keydown', { key, target: { tagName: 'BODY' }, preventDefault: () => {} }),
    click: (b) => {
      const el = element(b.id ?? '', 'BUTTON');
      Object.assign(el.dataset, b.dataset ?? {});
      fire('click', { target: el });
    },
    typeReader: (name) => {
      const input = byId('reader') as FakeElement;
      input.value = name;
      for (const f of input.listeners.input ?? []) f({ target: input });
    },
    overviewDone: () => (byId('overview') as FakeElement).children.map((c) => c.classes.has('done')),
  };
}
