// Kindred web chat: talks to `kindred serve` through the Kindred API (docs/SERVER_API.md) only.
// Plain DOM code with no framework or build step, so the server can embed these files as they are.
'use strict';

(() => {
  const API = '/kindred/v1';
  const KEY_STORAGE = 'kindred.apiKey';

  const $ = (id) => document.getElementById(id);

  const state = {
    characters: [],
    characterId: null,
    sessions: [],
    session: null,       // the open Session, turns included
    trajectory: [],      // AffectPoint[] of the open session
    affectState: null,   // the character's current AffectState
    busy: false,         // a request that changes the session is in flight
  };

  // ---- API access -----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status = 0) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  function authHeaders() {
    const key = $('api-key').value.trim();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  // Turns an error response (OpenAI's shape) into an ApiError; a body that is not that shape
  // still yields the status line, so no failure goes unreported.
  async function errorFromResponse(res) {
    let message = `${res.status} ${res.statusText}`.trim();
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) {
        const e = body.error;
        message = `${res.status}: ${e.message}${e.param ? ` (${e.param})` : ''}`;
      }
    } catch {
      message += ' (the error body was not JSON)';
    }
    if (res.status === 401) message += ' — set an API key above';
    return new ApiError(message, res.status);
  }

  async function api(method, path, body, contentType = 'application/json') {
    const init = { method, headers: { ...authHeaders(), Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = contentType;
      const bytes = body instanceof ArrayBuffer || body instanceof Blob;  // an uploaded file goes as is
      init.body = bytes ? body : JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return null;
    return res.json();
  }

  // POSTs with "stream": true and feeds the named server-sent events to `handlers` as they
  // arrive (fetch + ReadableStream, since EventSource cannot POST or send headers).
  async function streamEvents(path, body, handlers) {
    const res = await fetch(API + path, {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    if (!res.ok) throw await errorFromResponse(res);
    const type = res.headers.get('Content-Type') || '';
    if (!type.startsWith('text/event-stream')) {
      throw new ApiError(`expected an event stream from ${path}, got ${type || 'no content type'}`);
    }

    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let pending = '';
    let eventName = '';
    let dataLines = [];
    let sawDone = false;

    const dispatch = () => {
      if (dataLines.length === 0) { eventName = ''; return; }
      const name = eventName || 'message';
      const raw = dataLines.join('\n');
      eventName = '';
      dataLines = [];
      let payload;
      try {
        payload = JSON.parse(raw);
      } catch {
        throw new ApiError(`the server sent a malformed "${name}" event: ${raw.slice(0, 80)}`);
      }
      if (name === 'error') {
        const e = payload.error || {};
        throw new ApiError(`generation failed: ${e.message || raw}`);
      }
      if (name === 'done') sawDone = true;
      if (handlers[name]) handlers[name](payload);
    };

    const takeLine = (line) => {
      if (line === '') { dispatch(); return; }
      if (line.startsWith(':')) return;  // a comment (keep-alive)
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') eventName = value;
      else if (field === 'data') dataLines.push(value);
    };

    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += value;
        const lines = pending.split(/\r\n|\r|\n/);
        pending = lines.pop();  // the last piece may be an unfinished line
        lines.forEach(takeLine);
      }
      if (pending) takeLine(pending);
      dispatch();
    } catch (e) {
      reader.cancel().catch(() => {});  // the error below is the one worth reporting
      throw e;
    }
    if (!sawDone) throw new ApiError(`the stream from ${path} ended before its "done" event`);
  }

  // ---- errors and busy state ------------------------------------------------------------------

  function showError(error) {
    console.error(error);
    $('error-text').textContent = error instanceof Error ? error.message : String(error);
    $('error').hidden = false;
  }

  // Wraps an event handler so that every failure reaches the banner.
  const guarded = (fn) => async (...args) => {
    try {
      await fn(...args);
    } catch (e) {
      showError(e);
    }
  };

  function setBusy(busy) {
    state.busy = busy;
    document.body.dataset.busy = String(busy);
    updateControls();
  }

  function updateControls() {
    const open = state.session !== null;
    $('new-session').disabled = state.characterId === null || state.busy;
    $('message-input').disabled = !open || state.busy;
    $('send').disabled = !open || state.busy;
    $('undo').disabled = !open || state.busy || state.session.turns.length === 0;
    const last = lastTurn();
    const count = last ? swipeCount(last) : 0;
    const active = last ? last.active_swipe || 0 : 0;
    const prev = $('swipe-prev');
    const next = $('swipe-next');
    const regenerate = $('regenerate');
    if (prev) prev.disabled = state.busy || active <= 0;
    if (next) next.disabled = state.busy || active >= count - 1;
    if (regenerate) regenerate.disabled = state.busy;
  }

  // ---- characters and sessions ----------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'className') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    node.append(...children);
    return node;
  }

  async function loadCharacters() {
    const { data } = await api('GET', '/characters');
    state.characters = data;
    renderCharacters();
  }

  function renderCharacters() {
    const list = $('character-list');
    if (state.characters.length === 0) {
      list.replaceChildren(el('li', { className: 'empty' }, 'No characters yet: import a card.'));
      return;
    }
    list.replaceChildren(...state.characters.map((c) => {
      const button = el('button', {
        type: 'button', className: 'item', 'data-testid': 'character-item', 'data-character-id': c.id,
        'aria-pressed': String(c.id === state.characterId), 'aria-label': `Choose ${c.name}`,
      }, el('span', { className: 'item-name' }, c.name),
      el('span', { className: 'item-detail' }, c.description || ''));
      button.addEventListener('click', guarded(() => selectCharacter(c.id)));
      return el('li', {}, button);
    }));
  }

  async function selectCharacter(id) {
    state.characterId = id;
    renderCharacters();
    updateControls();
    await loadSessions();
  }

  async function loadSessions() {
    const { data } = await api('GET', '/sessions');
    state.sessions = data
      .filter((s) => s.character_id === state.characterId)
      .sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)) || b.id - a.id);
    renderSessions();
  }

  function renderSessions() {
    const list = $('session-list');
    if (state.characterId === null) {
      list.replaceChildren(el('li', { className: 'empty' }, 'Choose a character.'));
      return;
    }
    if (state.sessions.length === 0) {
      list.replaceChildren(el('li', { className: 'empty' }, 'No sessions yet.'));
      return;
    }
    const openId = state.session ? state.session.id : null;
    list.replaceChildren(...state.sessions.map((s) => {
      const button = el('button', {
        type: 'button', className: 'item', 'data-testid': 'session-item', 'data-session-id': s.id,
        'aria-current': s.id === openId ? 'true' : undefined, 'aria-label': `Open session ${s.name || s.id}`,
      }, el('span', { className: 'item-name' }, s.name || `Session ${s.id}`),
      el('span', { className: 'item-detail' }, formatTime(s.updated_at)));
      button.addEventListener('click', guarded(() => openSession(s.id)));
      return el('li', {}, button);
    }));
  }

  function formatTime(value) {
    const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
    return Number.isNaN(date.getTime()) ? String(value ?? '') : date.toLocaleString();
  }

  async function importCard(file) {
    const isPng = file.type === 'image/png' || /\.png$/i.test(file.name);
    const character = await api('POST', '/characters/import', await file.arrayBuffer(),
      isPng ? 'image/png' : 'application/json');
    await loadCharacters();
    await selectCharacter(character.id);
  }

  async function newSession() {
    if (state.characterId === null) return;
    setBusy(true);
    try {
      const session = await api('POST', '/sessions', { character_id: state.characterId });
      showSession(session);
      await loadSessions();
      await loadAffect();
    } finally {
      setBusy(false);
    }
  }

  async function openSession(id) {
    const session = await api('GET', `/sessions/${id}`);
    if (state.characterId !== session.character_id) {
      state.characterId = session.character_id;
      renderCharacters();
      await loadSessions();
    }
    showSession(session);
    await loadAffect();
  }

  function showSession(session) {
    state.session = session;
    state.trajectory = [];
    state.affectState = null;
    history.replaceState(null, '', `#session=${session.id}`);
    $('session-title').textContent = `${session.character_name} — ${session.name || `session ${session.id}`}`;
    $('messages').dataset.sessionId = session.id;
    renderSessions();
    renderMessages();
    renderChart();
  }

  async function reloadSession() {
    if (!state.session) return;
    state.session = await api('GET', `/sessions/${state.session.id}`);
    renderMessages();
  }

  async function loadAffect() {
    if (!state.session) return;
    const sessionId = state.session.id;
    const affect = await api('GET', `/sessions/${sessionId}/affect`);
    if (!state.session || state.session.id !== sessionId) return;  // the user moved on meanwhile
    state.trajectory = affect.trajectory || [];
    state.affectState = affect.state || null;
    renderChart();
  }

  // ---- messages -------------------------------------------------------------------------------

  function lastTurn() {
    const turns = state.session ? state.session.turns : [];
    const last = turns[turns.length - 1];
    return last && last.role === 'assistant' ? last : null;
  }

  function swipeCount(turn) {
    return Math.max(1, Array.isArray(turn.swipes) ? turn.swipes.length : 0);
  }

  const percent = (p) => `${Math.round(Number(p) * 100)}%`;

  function badges(turn) {
    const affect = turn.affect;
    if (!affect) return [];
    const out = [];
    if (turn.role === 'user' && affect.user_emotion) {
      const e = affect.user_emotion;
      out.push(el('span', {
        className: 'badge user-emotion', 'data-testid': 'user-emotion',
        title: 'Your detected emotion', 'aria-label': `Detected emotion: ${e.label}, ${percent(e.confidence)} confidence`,
      }, `${e.label} ${percent(e.confidence)}`));
    }
    if (turn.role === 'user' && affect.intent) {
      const i = affect.intent;
      out.push(el('span', {
        className: 'badge intent', 'data-testid': 'user-intent',
        title: 'Detected intent', 'aria-label': `Detected intent: ${i.name}, ${percent(i.confidence)} confidence`,
      }, `intent: ${i.name} ${percent(i.confidence)}`));
    }
    if (turn.role === 'assistant' && affect.character && affect.character.top_emotion) {
      const c = affect.character;
      out.push(el('span', {
        className: 'badge character-emotion', 'data-testid': 'character-emotion',
        title: "The character's strongest emotion",
        'aria-label': `Character emotion: ${c.top_emotion}, ${percent(c.top_emotion_p)}`,
      }, `${c.top_emotion} ${percent(c.top_emotion_p)}`));
    }
    return out;
  }

  function authorName(role) {
    if (role === 'assistant') return state.session ? state.session.character_name : 'Character';
    return role === 'user' ? 'You' : 'System';
  }

  function messageElement(turn, isLast) {
    const count = swipeCount(turn);
    const active = turn.active_swipe || 0;
    const item = el('li', {
      className: 'message', 'data-role': turn.role, 'data-turn-id': turn.id, 'data-position': turn.position,
      'data-swipe-count': count, 'data-active-swipe': active,
    },
    el('div', { className: 'message-head' },
      el('span', { className: 'author' }, authorName(turn.role)), ...badges(turn)),
    el('div', { className: 'message-text' }, turn.text));
    if (isLast && turn.role === 'assistant') item.append(swipeTools(count, active));
    return item;
  }

  function swipeTools(count, active) {
    const prev = el('button', { id: 'swipe-prev', 'data-testid': 'swipe-prev', type: 'button',
      'aria-label': 'Previous swipe' }, '◀');
    const next = el('button', { id: 'swipe-next', 'data-testid': 'swipe-next', type: 'button',
      'aria-label': 'Next swipe' }, '▶');
    const regenerate = el('button', { id: 'regenerate', 'data-testid': 'regenerate', type: 'button',
      'aria-label': 'Regenerate the reply as a new swipe' }, '↻ Regenerate');
    prev.addEventListener('click', guarded(() => swipe(-1)));
    next.addEventListener('click', guarded(() => swipe(1)));
    regenerate.addEventListener('click', guarded(regenerateReply));
    return el('div', { className: 'message-tools' }, prev,
      el('span', { className: 'swipe-counter', 'aria-label': `Swipe ${active + 1} of ${count}` },
        `${active + 1}/${count}`),
      next, regenerate);
  }

  function renderMessages() {
    const list = $('messages');
    const turns = state.session ? state.session.turns : [];
    list.replaceChildren(...turns.map((turn, i) => messageElement(turn, i === turns.length - 1)));
    list.scrollTop = list.scrollHeight;
    updateControls();
  }

  // A placeholder for the reply being streamed; tokens are appended to it as they arrive.
  function streamingReply(existing) {
    const item = existing || el('li', { className: 'message', 'data-role': 'assistant' },
      el('div', { className: 'message-head' }, el('span', { className: 'author' }, authorName('assistant'))),
      el('div', { className: 'message-text' }));
    if (!existing) $('messages').append(item);
    item.classList.add('streaming');
    const text = item.querySelector('.message-text');
    text.textContent = '';
    return (piece) => {
      text.textContent += piece;
      $('messages').scrollTop = $('messages').scrollHeight;
    };
  }

  function upsertTurn(session, turn) {
    const i = session.turns.findIndex((t) => t.id === turn.id);
    if (i >= 0) session.turns[i] = turn;
    else session.turns.push(turn);
  }

  // Runs a streamed generation; afterwards the view is re-synced with what the server stored,
  // also after a failure (the user turn may have been stored before the generation failed).
  async function generate(path, body, appendTo) {
    const session = state.session;
    setBusy(true);
    let append = null;
    let failure = null;
    let userStored = false;
    try {
      await streamEvents(`/sessions/${session.id}${path}`, body, {
        user: (turn) => {
          userStored = true;
          upsertTurn(session, turn);
          renderMessages();
          append = streamingReply();
        },
        token: ({ text }) => {
          if (!append) append = streamingReply(appendTo);
          append(text ?? '');
        },
        done: ({ reply }) => upsertTurn(session, reply),
      });
    } catch (e) {
      failure = e;
    }
    try {
      if (state.session === session) {
        if (failure) await reloadSession();
        else renderMessages();
        await loadAffect();
      }
    } finally {
      setBusy(false);
    }
    if (failure) {
      failure.userStored = userStored;
      throw failure;
    }
  }

  async function sendMessage() {
    const input = $('message-input');
    const content = input.value.trim();
    if (!content || !state.session || state.busy) return;
    input.value = '';
    try {
      await generate('/messages', { content });
    } catch (e) {
      // Give the text back so it can be resent, unless the server already stored it.
      if (!e.userStored && !input.value) input.value = content;
      throw e;
    }
    input.focus();
  }

  async function regenerateReply() {
    if (!state.session || state.busy) return;
    const items = $('messages').querySelectorAll('.message');
    await generate('/regenerate', {}, items[items.length - 1]);
  }

  async function swipe(direction) {
    if (!state.session || state.busy) return;
    const session = state.session;
    setBusy(true);
    try {
      const { turn } = await api('POST', `/sessions/${session.id}/swipe`, { direction });
      if (turn) upsertTurn(session, turn);
      renderMessages();
      await loadAffect();
    } finally {
      setBusy(false);
    }
  }

  async function undo() {
    if (!state.session || state.busy) return;
    setBusy(true);
    try {
      const { undone } = await api('POST', `/sessions/${state.session.id}/undo`);
      if (!undone) throw new ApiError('there was nothing to undo');
      await reloadSession();
      await loadAffect();
    } finally {
      setBusy(false);
    }
  }

  // ---- mood chart -----------------------------------------------------------------------------

  function moodSummary() {
    const now = state.affectState;
    if (!now) return '';
    const words = Array.isArray(now.mood_words) ? now.mood_words.join(', ') : now.mood_words;
    const parts = [];
    if (now.top_emotion) parts.push(`now ${now.top_emotion} ${percent(now.top_emotion_p)}`);
    if (words) parts.push(`mood: ${words}`);
    return parts.join(' · ');
  }

  function renderChart() {
    $('mood-summary').textContent = moodSummary();
    window.kindredMoodChart.render($('mood-chart'), state.trajectory,
      state.session ? 'No affect recorded yet' : 'Open a session');
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function start() {
    const key = $('api-key');
    key.value = localStorage.getItem(KEY_STORAGE) || '';
    key.addEventListener('change', guarded(async () => {
      const value = key.value.trim();
      if (value) localStorage.setItem(KEY_STORAGE, value);
      else localStorage.removeItem(KEY_STORAGE);
      await loadCharacters();
    }));

    $('error-dismiss').addEventListener('click', () => { $('error').hidden = true; });

    $('import-card').addEventListener('change', guarded(async (event) => {
      const input = event.target;
      const file = input.files && input.files[0];
      input.value = '';  // choosing the same file again must fire another change
      if (file) await importCard(file);
    }));

    $('new-session').addEventListener('click', guarded(newSession));
    $('undo').addEventListener('click', guarded(undo));
    $('composer').addEventListener('submit', guarded(async (event) => {
      event.preventDefault();
      await sendMessage();
    }));
    $('message-input').addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $('composer').requestSubmit();
      }
    });

    renderSessions();
    renderChart();
    updateControls();
    guarded(async () => {
      await loadCharacters();
      const match = /session=(\d+)/.exec(location.hash);
      if (match) await openSession(Number(match[1]));
    })();
  }

  start();
})();
