// The endpointd dashboard: lists services with their endpoint counts and the sources' health, and shows one
// service's endpoints, kept live through the REST API's SSE streams. It uses only the public API, so the server's
// exposure policy and authentication apply to it as to any client.
//
// Streams are read with fetch, not EventSource: EventSource cannot send the Authorization header. The reader keeps
// the last event id itself and sends it as Last-Event-ID when it reconnects, as EventSource would.

/** Where the API is: this page's origin, or another one given as ?api=https://host:port (a copy hosted elsewhere). */
const API = new URLSearchParams(location.search).get('api')?.replace(/\/+$/, '') ?? location.origin;
const TOKEN_KEY = 'endpointd.token';
/** Rows drawn at most: past this a filter is the way to find a service. */
const MAX_ROWS = 500;
/** No byte for this long (heartbeats come every 15 s by default) means the connection is dead. */
const STREAM_IDLE_MS = 45_000;
const READYZ_POLL_MS = 2_000;

const $ = (id) => document.getElementById(id);

class AuthError extends Error {}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function headers(extra = {}) {
  const t = token();
  return t === '' ? extra : { ...extra, Authorization: `Bearer ${t}` };
}

/** GETs a JSON document of the API; 503 from /readyz still carries its body. */
async function getJson(path, { acceptStatus = [] } = {}) {
  const res = await fetch(API + path, {
    headers: headers({ Accept: 'application/json' }),
    cache: 'no-store',
  });
  if (res.status === 401) throw new AuthError(await problemDetail(res));
  if (!res.ok && !acceptStatus.includes(res.status)) throw new Error(await problemDetail(res));
  return res.json();
}

async function problemDetail(res) {
  try {
    const body = await res.json();
    return body.detail ?? `${res.status} ${res.statusText}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

/**
 * Follows an SSE stream for as long as `signal` is not aborted, reconnecting with backoff. `onEvent(data, id)`
 * gets each parsed event; `onOpen(resumed)` runs on each connection; `onDown(error)` when one is lost.
 */
async function follow(path, { signal, onEvent, onOpen, onDown }) {
  let lastEventId = '';
  let backoffMs = 250;
  while (!signal.aborted) {
    const connection = new AbortController();
    const abort = () => connection.abort();
    signal.addEventListener('abort', abort, { once: true });
    let idle;
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, STREAM_IDLE_MS);
    };
    try {
      const extra = { Accept: 'text/event-stream' };
      if (lastEventId !== '') extra['Last-Event-ID'] = lastEventId;
      resetIdle();
      const res = await fetch(API + path, {
        headers: headers(extra),
        cache: 'no-store',
        signal: connection.signal,
      });
      if (res.status === 401) throw new AuthError(await problemDetail(res));
      if (!res.ok) throw new Error(await problemDetail(res));
      onOpen(lastEventId !== '');
      backoffMs = 250;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        resetIdle();
        buffer += value;
        const blocks = buffer.split(/\r\n\r\n|\n\n|\r\r/);
        buffer = blocks.pop() ?? '';
        for (const block of blocks) {
          const event = parseSseBlock(block);
          if (event.id !== undefined) lastEventId = event.id;
          if (event.data !== undefined) onEvent(JSON.parse(event.data), lastEventId);
        }
      }
      onDown(new Error('the stream ended'));
    } catch (error) {
      if (signal.aborted) return;
      onDown(error);
      if (error instanceof AuthError) return; // nothing to retry until a token is given
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', abort);
    }
    await sleep(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, 5_000);
  }
}

/** One SSE event block: its `id` (undefined when it has none; '' resets) and its `data` lines joined. */
function parseSseBlock(block) {
  let id;
  const data = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id' && !value.includes('\0')) id = value;
    if (field === 'data') data.push(value);
  }
  return { id, data: data.length === 0 ? undefined : data.join('\n') };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---- state ----

/** namespace/name → service body (with every endpoint), as the all-services stream last said. */
let services = new Map();
let sourcesDetail;
let connection = 'connecting';
let needsToken = false;
let listStream;
let detailStream;

function key(s) {
  return `${s.namespace}/${s.name}`;
}

// ---- rendering (textContent only: names and addresses come from the cluster) ----

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function cell(label, content, className) {
  const td = el('td', { 'data-label': label, class: className });
  if (typeof content === 'string') td.textContent = content;
  else td.append(content);
  return td;
}

function setConnection(state) {
  connection = state;
  const pill = $('connection');
  pill.dataset.state = state;
  pill.textContent = state;
}

function renderSources() {
  const box = $('sources');
  box.replaceChildren();
  if (sourcesDetail === undefined) return;
  if (sourcesDetail.shuttingDown)
    box.append(el('div', { class: 'source', 'data-health': 'error', text: 'shutting down' }));
  for (const source of sourcesDetail.sources) {
    const health = source.error !== null ? 'error' : source.synced ? 'ok' : 'syncing';
    const since =
      source.lastSyncAt === null
        ? 'never synced'
        : `synced ${new Date(source.lastSyncAt).toLocaleTimeString()}`;
    const card = el(
      'div',
      { class: 'source', 'data-health': health, 'data-source': source.name },
      el('strong', { text: source.name }),
      ' ',
      el('span', { class: 'muted', text: health === 'ok' ? `ok · ${since}` : `${health} · ${since}` }),
    );
    if (source.error !== null) card.append(el('span', { class: 'error', text: source.error }));
    box.append(card);
  }
}

let listFrame = 0;
function scheduleList() {
  if (listFrame === 0) listFrame = requestAnimationFrame(renderList);
}

function renderList() {
  listFrame = 0;
  const namespaceSelect = $('namespace');
  const chosen = namespaceSelect.value;
  const namespaces = [...new Set([...services.values()].map((s) => s.namespace))].sort();
  if (chosen !== '' && !namespaces.includes(chosen)) namespaces.push(chosen);
  const options = ['', ...namespaces];
  if ([...namespaceSelect.options].map((o) => o.value).join('\n') !== options.join('\n')) {
    namespaceSelect.replaceChildren(
      ...options.map((ns) => el('option', { value: ns, text: ns === '' ? 'all' : ns })),
    );
    namespaceSelect.value = chosen;
  }
  const needle = $('name').value.trim().toLowerCase();
  const shown = [...services.values()]
    .filter((s) => (chosen === '' || s.namespace === chosen) && s.name.toLowerCase().includes(needle))
    .sort((a, b) => key(a).localeCompare(key(b)));
  const tbody = $('services').tBodies[0];
  const previous = new Map([...tbody.rows].map((row) => [row.dataset.service, row.dataset.version]));
  tbody.replaceChildren(
    ...shown.slice(0, MAX_ROWS).map((s) => {
      const ready = s.endpoints.filter((e) => e.ready).length;
      const row = el(
        'tr',
        { 'data-service': key(s), 'data-version': s.version, tabindex: '0' },
        cell('Namespace', s.namespace),
        cell('Name', el('a', { href: `#/services/${s.namespace}/${s.name}`, text: s.name })),
        cell('Endpoints', String(s.endpoints.length), 'num endpoints'),
        cell('Ready', String(ready), 'num ready'),
        cell('Ports', s.ports.map(shortPortText).join(', ') || '—'),
        cell('Version', el('code', { text: s.version })),
      );
      const before = previous.get(key(s));
      if (before !== undefined && before !== s.version) row.classList.add('flash');
      return row;
    }),
  );
  $('empty').hidden = shown.length > 0 || connection !== 'live';
  $('count').textContent =
    shown.length > MAX_ROWS
      ? `showing ${MAX_ROWS} of ${shown.length} matching services (of ${services.size}); filter to see others`
      : `${shown.length} of ${services.size} services`;
}

function renderDetail(state) {
  const { namespace, name } = state;
  $('detail-title').textContent = `${namespace}/${name}`;
  const status = $('detail-status');
  const tbody = $('endpoints').tBodies[0];
  if (state.body === undefined) {
    status.textContent = state.gone ?? 'loading…';
    $('detail-ports').replaceChildren();
    tbody.replaceChildren();
    return;
  }
  const body = state.body;
  const ready = body.endpoints.filter((e) => e.ready).length;
  status.textContent = `${body.endpoints.length} endpoints, ${ready} ready · version ${body.version}`;
  const ports = body.service?.ports ?? body.ports;
  $('detail-ports').replaceChildren(
    el(
      'p',
      {},
      'Ports: ',
      ...ports.flatMap((p, i) => [i > 0 ? ', ' : '', el('code', { text: portText(p) })]),
    ),
  );
  if (body.service !== null && body.service !== undefined) {
    const info = [`type ${body.service.type}`];
    if (body.service.headless) info.push('headless');
    if (body.service.externalName) info.push(`externalName ${body.service.externalName}`);
    $('detail-ports').append(el('p', { class: 'muted', text: info.join(' · ') }));
  }
  tbody.replaceChildren(
    ...body.endpoints.map((e) =>
      el(
        'tr',
        { 'data-address': e.addresses[0] ?? '' },
        cell('Address', el('code', { text: e.addresses.join(', ') })),
        cell(
          'Conditions',
          el(
            'span',
            {},
            // `terminating` is worth a badge only when true; ready and serving are worth one either way.
            ...['ready', 'serving', 'terminating']
              .filter((c) => c !== 'terminating' || e.terminating)
              .map((c) =>
                el('span', { class: `cond ${c}`, 'data-on': String(e[c]), text: e[c] ? c : `not ${c}` }),
              ),
          ),
          'conditions',
        ),
        cell('Zone', e.zone ?? '—', 'zone nowrap'),
        cell('Node', e.nodeName ?? '—', 'node nowrap'),
        cell('Ports', e.ports.map(shortPortText).join(', ')),
        cell(
          'Target',
          e.targetRef === null ? (e.hostname ?? '—') : `${e.targetRef.kind} ${e.targetRef.name}`,
        ),
      ),
    ),
  );
}

/** `http 8080` (or the number alone for an unnamed port). */
function shortPortText(p) {
  return p.name === '' ? String(p.port) : `${p.name} ${p.port}`;
}

function portText(p) {
  const number = p.targetPort !== undefined ? `${p.port}→${p.targetPort}` : String(p.port);
  return `${p.name === '' ? '' : `${p.name} `}${number}/${p.protocol}${p.appProtocol ? ` (${p.appProtocol})` : ''}`;
}

// ---- streams ----

function startListStream() {
  listStream?.abort();
  listStream = new AbortController();
  let fresh; // the state being received on a (re)connection, until SYNCED
  void follow('/v1/watch?endpoints=all', {
    signal: listStream.signal,
    onOpen: () => {
      fresh = new Map();
    },
    onEvent: (event) => {
      const target = fresh ?? services;
      if (event.type === 'ADDED' || event.type === 'MODIFIED') target.set(key(event), event.service);
      else if (event.type === 'DELETED') target.delete(key(event));
      else if (event.type === 'SYNCED') {
        // A many-service stream carries no ids: each connection sends everything, so what it did not send is gone.
        services = fresh ?? services;
        fresh = undefined;
        setConnection('live');
      }
      if (fresh === undefined) scheduleList();
    },
    onDown: (error) => {
      fresh = undefined;
      if (error instanceof AuthError) askForToken(error.message);
      else setConnection('reconnecting');
    },
  });
}

function showDetail(namespace, name) {
  detailStream?.abort();
  detailStream = new AbortController();
  const state = { namespace, name, body: undefined, gone: undefined };
  renderDetail(state);
  const path = `/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/watch?endpoints=all`;
  void follow(path, {
    signal: detailStream.signal,
    onOpen: (resumed) => {
      $('detail-view').dataset.resumed = String(resumed);
    },
    onEvent: (event) => {
      if (event.type === 'ADDED' || event.type === 'MODIFIED') {
        state.body = event.service;
        state.gone = undefined;
      } else if (event.type === 'DELETED') {
        state.body = undefined;
        state.gone = 'deleted: this service no longer exists; waiting for it to come back';
      } else if (event.type === 'ABSENT') {
        // Shown a moment ago, absent now: it was deleted while the stream was down (a resumed stream can only say
        // it is absent), which is what the page says.
        state.gone =
          state.body !== undefined || state.gone?.startsWith('deleted')
            ? 'deleted: this service no longer exists; waiting for it to come back'
            : 'not known: no such service (or it is hidden); waiting for it to appear';
        state.body = undefined;
      } else if (event.type === 'SYNCED') {
        $('detail-view').dataset.synced = 'true';
      }
      if (event.type !== 'HEARTBEAT') renderDetail(state);
    },
    onDown: (error) => {
      $('detail-view').dataset.synced = 'false';
      if (error instanceof AuthError) askForToken(error.message);
    },
  });
}

async function pollReadiness() {
  for (;;) {
    try {
      sourcesDetail = await getJson('/readyz', { acceptStatus: [503] });
    } catch (error) {
      if (error instanceof AuthError) askForToken(error.message);
      else if (connection !== 'live') setConnection('offline');
    }
    renderSources();
    await new Promise((resolve) => setTimeout(resolve, READYZ_POLL_MS));
  }
}

// ---- authentication ----

function askForToken(detail) {
  setConnection('unauthorized');
  const form = $('token-form');
  if (!needsToken || form.hidden) {
    needsToken = true;
    form.hidden = false;
    const error = $('token-error');
    error.hidden = token() === '';
    error.textContent = `The token was refused: ${detail}`;
    $('token').focus();
  }
}

function useToken(value) {
  if (value === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
  needsToken = false;
  $('token-form').hidden = true;
  $('forget-token').hidden = token() === '';
  setConnection('connecting');
  startListStream();
  route();
}

// ---- navigation ----

function route() {
  const match = /^#\/services\/([^/]+)\/([^/]+)$/.exec(location.hash);
  $('list-view').hidden = match !== null;
  $('detail-view').hidden = match === null;
  if (match === null) {
    detailStream?.abort();
    detailStream = undefined;
    scheduleList();
    return;
  }
  let namespace;
  let name;
  try {
    namespace = decodeURIComponent(match[1]);
    name = decodeURIComponent(match[2]);
  } catch {
    location.hash = '#/'; // a mangled link: back to the list
    return;
  }
  showDetail(namespace, name);
}

function start() {
  $('api').textContent = API;
  $('forget-token').hidden = token() === '';
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    useToken($('token').value.trim());
  });
  $('forget-token').addEventListener('click', () => useToken(''));
  $('namespace').addEventListener('change', scheduleList);
  $('name').addEventListener('input', scheduleList);
  $('services').addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-service]');
    if (row !== null && event.target.closest('a') === null)
      location.hash = `#/services/${row.dataset.service}`;
  });
  $('services').addEventListener('keydown', (event) => {
    const row = event.target.closest('tr[data-service]');
    if (row !== null && event.key === 'Enter') location.hash = `#/services/${row.dataset.service}`;
  });
  window.addEventListener('hashchange', route);
  startListStream();
  route();
  void pollReadiness();
}

start();
