import { io } from 'socket.io-client';
import type { RunState } from '@fedxray/coordinator';
import { liveView, storedView, type RunListItem, type StoredRun, type StoredSite } from './model';
import { Page } from './view';
import './style.css';

/** A dashboard token from `?token=` (kept for the tab's lifetime), needed when the page is not opened from loopback. */
function token(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) sessionStorage.setItem('fedxray-token', fromUrl);
  return fromUrl ?? sessionStorage.getItem('fedxray-token') ?? undefined;
}

const auth = token();
const page = new Page();
const picker = document.getElementById('run-picker') as HTMLSelectElement;
const banner = document.getElementById('banner')!;
const link = document.getElementById('link')!;
const linkText = document.getElementById('link-text')!;
const modelLink = document.getElementById('model-link') as HTMLAnchorElement;
if (auth) modelLink.href = `/model.tar?token=${encodeURIComponent(auth)}`;

let live: RunState | null = null;
let showing: 'live' | string = 'live';
let connected = false;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}

function setLink(state: 'connecting' | 'live' | 'lost' | 'closed' | 'denied', text: string): void {
  link.dataset.link = state;
  linkText.textContent = text;
}

function showBanner(text: string | null, action?: { label: string; onClick: () => void }): void {
  banner.hidden = !text;
  banner.replaceChildren();
  if (!text) return;
  banner.append(document.createTextNode(text));
  if (action) {
    const b = document.createElement('button');
    b.textContent = action.label;
    b.addEventListener('click', action.onClick);
    banner.append(b);
  }
}

/** Fills the run picker from `/api/runs`: the live run first, then finished runs, newest first. */
async function refreshRuns(): Promise<void> {
  let runs: RunListItem[];
  try {
    runs = (await api<{ runs: RunListItem[] }>('/api/runs')).runs;
  } catch {
    return;
  }
  const liveId = live?.run.id;
  const options: HTMLOptionElement[] = [new Option(liveId ? `Live · ${liveId}` : 'Live run', '')];
  for (const r of [...runs].sort((a, b) => b.createdAt - a.createdAt)) {
    if (r.id === liveId) continue;
    const when = new Date(r.createdAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
    options.push(new Option(`${r.id} · ${r.status} · ${r.completedRounds} round${r.completedRounds === 1 ? '' : 's'} · ${when}`, r.id));
  }
  picker.replaceChildren(...options);
  picker.value = showing === 'live' ? '' : showing;
}

async function showStored(id: string): Promise<void> {
  showing = id;
  picker.value = id;
  try {
    const [stored, sites] = await Promise.all([api<StoredRun>(`/api/runs/${encodeURIComponent(id)}`), api<{ sites: StoredSite[] }>(`/api/runs/${encodeURIComponent(id)}/sites`)]);
    if (showing !== id) return;
    page.render(storedView(stored, sites.sites));
    showBanner(`Browsing run ${id} from the store.`, { label: 'Back to the live run', onClick: () => (location.hash = '') });
  } catch (err) {
    showBanner(`Could not load run ${id}: ${(err as Error).message}`, { label: 'Back to the live run', onClick: () => (location.hash = '') });
  }
}

function route(): void {
  const m = /^#\/runs\/(.+)$/.exec(location.hash);
  const id = m ? decodeURIComponent(m[1]) : null;
  if (id && id !== live?.run.id) {
    void showStored(id);
    return;
  }
  showing = 'live';
  picker.value = '';
  showBanner(null);
  if (live) page.render(liveView(live));
}

picker.addEventListener('change', () => {
  location.hash = picker.value ? `#/runs/${encodeURIComponent(picker.value)}` : '';
});
picker.addEventListener('focus', () => void refreshRuns());
window.addEventListener('hashchange', route);

const socket = io('/dashboard', { auth: auth ? { token: auth } : {}, transports: ['websocket', 'polling'] });
socket.on('connect', () => {
  connected = true;
  setLink('live', 'Live');
});
socket.on('disconnect', () => {
  connected = false;
  if (live && live.run.status !== 'running') setLink('closed', 'Coordinator closed');
  else setLink('lost', 'Reconnecting…');
});
socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
  if (err.data?.code === 'unauthorized') {
    setLink('denied', 'Not authorised');
    showBanner('This coordinator shows its dashboard on loopback only. From elsewhere, open it with ?token=<dashboard token>.');
  } else if (!connected) {
    setLink(live && live.run.status !== 'running' ? 'closed' : 'lost', live && live.run.status !== 'running' ? 'Coordinator closed' : 'Reconnecting…');
  }
});
socket.on('state', (state: RunState) => {
  const first = !live || live.run.id !== state.run.id;
  const ended = live?.run.status === 'running' && state.run.status !== 'running';
  live = state;
  if (first) {
    route();
    void refreshRuns();
  } else if (showing === 'live') page.render(liveView(state));
  if (ended) void refreshRuns();
});

setInterval(() => page.tick(), 1000);
void refreshRuns().then(() => {
  if (!live && location.hash) route();
});
