/*
 * callcard inspector — the timeline: every REST call, postMessage, card change, event and delivery,
 * live. App and user filters go to the server (API + stream); kinds and the text filter apply in place.
 */
(function () {
  'use strict';

  var CI = window.CI;
  var el = CI.el;
  var boot = CI.boot();
  var MAX_ROWS = 3000; // the DOM keeps at most this many entries (the journal itself is bounded too)

  var root = document.querySelector('.ci-timeline');
  var $ = function (role) { return root.querySelector('[data-role="' + role + '"]'); };
  var rowsBody = $('rows');
  var scroller = $('scroller');
  var empty = $('empty');
  var liveLabel = $('live');
  var pauseBtn = root.querySelector('[data-action="pause"]');

  var apps = {};
  boot.apps.forEach(function (a) { apps[a.id] = a.name; });
  var users = {};
  boot.users.forEach(function (u) { users[u.id] = u.name; });

  var state = {
    kinds: {}, // kind -> shown
    search: '',
    app: '',
    user: '',
    paused: false,
    pending: [],
    entries: [], // shown in the DOM, oldest first: {entry, row, detail}
    counts: {},
    lastSeq: 0,
    autoscroll: true,
    live: 'connecting',
  };
  boot.kinds.forEach(function (k) { state.kinds[k] = true; state.counts[k] = 0; });

  // -- cell rendering -----------------------------------------------------------------------------------

  function statusCell(entry) {
    if (entry.kind === 'rest') {
      var s = entry.status;
      return el('span', { class: 'ci-s' + String(s).charAt(0) }, String(s));
    }
    if (entry.kind === 'delivery') {
      var p = entry.payload || {};
      if (p.status_code) return el('span', { class: 'ci-s' + String(p.status_code).charAt(0) }, String(p.status_code));
      if (p.error) return el('span', { class: 'ci-serr', title: p.error }, 'failed');
      return el('span', { class: 'ci-muted' }, p.status || '');
    }
    if (entry.kind === 'message') return el('span', { class: 'ci-muted' }, entry.direction === 'in' ? 'app → host' : 'host → app');
    if (entry.kind === 'card') return el('span', { class: 'ci-muted' }, entry.payload ? entry.payload.uiState : 'closed');
    return '';
  }

  function duration(entry) {
    var ms = entry.duration_ms;
    if (ms === undefined && entry.kind === 'delivery' && entry.payload) ms = entry.payload.duration_ms;
    if (typeof ms !== 'number') return '';
    return ms < 1000 ? ms.toFixed(ms < 10 ? 2 : 1) + ' ms' : (ms / 1000).toFixed(2) + ' s';
  }

  function summaryCell(entry) {
    if (entry.kind === 'rest' && entry.method) {
      var rest = entry.summary.indexOf(entry.method) === 0 ? entry.summary.slice(entry.method.length) : ' ' + entry.summary;
      return [el('span', { class: 'ci-method' }, entry.method), rest];
    }
    if (entry.kind === 'message') {
      return [el('span', { class: 'ci-dir' }, entry.direction === 'in' ? '↑' : '↓'), entry.summary];
    }
    return [entry.summary];
  }

  function isError(entry) {
    if (entry.kind === 'rest') return entry.status >= 400;
    if (entry.kind === 'delivery') {
      var p = entry.payload || {};
      return !!p.error || (p.status_code && p.status_code >= 400);
    }
    return false;
  }

  function who(id, names) {
    if (id === null || id === undefined) return '';
    return '#' + id + (names[id] ? ' ' + names[id] : '');
  }

  function buildRow(entry, fresh) {
    var tr = el('tr', {
      class: 'ci-row ci-kind--' + entry.kind + (isError(entry) ? ' is-error' : '') + (fresh ? ' is-new' : ''),
      'data-seq': entry.seq, 'data-kind': entry.kind, tabindex: '-1',
    }, [
      el('td', { class: 'c-seq' }, String(entry.seq)),
      el('td', { class: 'c-time', title: new Date(entry.at * 1000).toISOString() }, CI.time(entry.at)),
      el('td', { class: 'c-kind' }, el('span', { class: 'ci-kindtag' }, entry.kind)),
      el('td', { class: 'c-app', title: who(entry.app_id, apps) }, who(entry.app_id, apps)),
      el('td', { class: 'c-user', title: who(entry.user_id, users) }, who(entry.user_id, users)),
      el('td', { class: 'c-sum', title: entry.summary }, summaryCell(entry)),
      el('td', { class: 'c-status' }, statusCell(entry)),
      el('td', { class: 'c-dur' }, duration(entry)),
    ]);
    return tr;
  }

  // -- the expanded payload ---------------------------------------------------------------------------

  function pane(title, value, raw) {
    var body = raw ? el('pre', { class: 'ci-raw' }, String(value)) : CI.jsonTree(value, 3);
    var copyBtn = el('button', { type: 'button', class: 'ci-btn' }, 'copy');
    copyBtn.addEventListener('click', function (ev) {
      ev.stopPropagation();
      CI.copy(typeof value === 'string' ? value : JSON.stringify(value, null, 2), copyBtn);
    });
    return el('div', { class: 'ci-pane' }, [el('h4', {}, [title, copyBtn]), body]);
  }

  function parseJSON(text) {
    try { return JSON.parse(text); } catch (e) { return undefined; }
  }

  /** The wire string taken apart: app -> host "command:params:callbackId:appSid", host -> app "cb:JSON". */
  function parseWire(entry) {
    var text = entry.payload;
    if (typeof text !== 'string') return undefined;
    if (entry.direction === 'in') {
      var parts = text.split(':');
      if (parts.length < 4) return undefined;
      var params = parts.slice(1, parts.length - 2).join(':'); // params may hold colons; the ends do not
      var value = parseJSON(params);
      return { command: parts[0], params: value === undefined ? params : value,
               callbackId: parts[parts.length - 2], appSid: parts[parts.length - 1] };
    }
    var i = text.indexOf(':');
    if (i < 0) return undefined;
    var rest = text.slice(i + 1);
    return { callbackId: text.slice(0, i), value: rest === '' ? '(no payload)' : parseJSON(rest) };
  }

  function buildDetail(entry) {
    var meta = [];
    Object.keys(entry).forEach(function (key) {
      if (key === 'payload' || key === 'summary') return;
      var value = entry[key];
      if (value === null || value === undefined) return;
      if (key === 'at') value = new Date(value * 1000).toISOString();
      meta.push(el('span', {}, [el('b', {}, key + ' '), String(value)]));
    });
    var panes = [];
    var p = entry.payload;
    if (entry.kind === 'rest' && p && typeof p === 'object' && 'request' in p) {
      panes.push(pane('Request · ' + (entry.method || ''), p.request));
      panes.push(pane('Response · ' + entry.status, p.response));
    } else if (entry.kind === 'message' && typeof p === 'string') {
      panes.push(pane('Wire text', p, true));
      var parsed = parseWire(entry);
      if (parsed !== undefined) panes.push(pane('Parsed', parsed));
    } else if (entry.kind === 'card' && !p) {
      panes.push(pane('Card', 'The card is closed (no view).', true));
    } else {
      panes.push(pane('Payload', p === undefined ? null : p));
    }
    panes.push(pane('Entry (raw)', entry));
    panes[panes.length - 1].querySelector('.ci-json li').classList.add('is-collapsed');
    return el('tr', { class: 'ci-detail-row ci-kind--' + entry.kind }, el('td', { colspan: '8' },
      el('div', { class: 'ci-detail' }, [
        el('div', { class: 'ci-detail__meta' }, meta),
        el('div', { class: 'ci-detail__panes' }, panes),
      ])));
  }

  function toggle(item, open) {
    var want = open === undefined ? !item.detail : open;
    if (want && !item.detail) {
      item.detail = buildDetail(item.entry);
      item.row.classList.add('is-open');
      item.row.parentNode.insertBefore(item.detail, item.row.nextSibling);
    } else if (!want && item.detail) {
      item.detail.remove();
      item.detail = null;
      item.row.classList.remove('is-open');
    }
  }

  // -- filtering and adding --------------------------------------------------------------------------

  function matches(entry) {
    if (!state.kinds[entry.kind]) return false;
    if (!state.search) return true;
    var hay = (entry.summary + ' ' + (entry.method || '') + ' ' + JSON.stringify(entry.payload)).toLowerCase();
    return hay.indexOf(state.search) >= 0;
  }

  function applyFilter() {
    var shown = 0;
    state.entries.forEach(function (item) {
      var ok = matches(item.entry);
      item.row.hidden = !ok;
      if (item.detail) item.detail.hidden = !ok;
      if (ok) shown++;
    });
    updateCounts(shown);
  }

  function updateCounts(shown) {
    if (shown === undefined) shown = state.entries.filter(function (i) { return !i.row.hidden; }).length;
    $('shown').textContent = shown + ' shown of ' + state.entries.length;
    Object.keys(state.counts).forEach(function (k) {
      var badge = root.querySelector('[data-count="' + k + '"]');
      if (badge) badge.textContent = state.counts[k];
    });
    empty.hidden = state.entries.length > 0;
  }

  function add(entries, fresh) {
    if (!entries.length) return;
    var atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 30;
    var frag = document.createDocumentFragment();
    entries.forEach(function (entry) {
      if (entry.seq <= state.lastSeq) return; // a reconnect may repeat the newest entry
      state.lastSeq = entry.seq;
      var row = buildRow(entry, fresh);
      var item = { entry: entry, row: row, detail: null };
      row.addEventListener('click', function () { toggle(item); });
      row.hidden = !matches(entry);
      state.entries.push(item);
      state.counts[entry.kind] = (state.counts[entry.kind] || 0) + 1;
      frag.appendChild(row);
    });
    rowsBody.appendChild(frag);
    while (state.entries.length > MAX_ROWS) {
      var old = state.entries.shift();
      state.counts[old.entry.kind]--;
      if (old.detail) old.detail.remove();
      old.row.remove();
    }
    updateCounts();
    if (state.autoscroll && (atBottom || !fresh)) scroller.scrollTop = scroller.scrollHeight;
  }

  function clearView() {
    state.entries = [];
    state.pending = [];
    Object.keys(state.counts).forEach(function (k) { state.counts[k] = 0; });
    rowsBody.textContent = '';
    updateCounts(0);
    setLive(state.live);
  }

  // -- live ---------------------------------------------------------------------------------------------

  function setLive(status) {
    state.live = status;
    liveLabel.className = 'ci-live';
    if (status === 'down') { liveLabel.classList.add('is-down'); liveLabel.textContent = 'disconnected — retrying'; return; }
    if (state.paused) {
      liveLabel.classList.add('is-paused');
      liveLabel.textContent = 'paused' + (state.pending.length ? ' — ' + state.pending.length + ' new' : '');
      return;
    }
    if (status === 'live') { liveLabel.classList.add('is-live'); liveLabel.textContent = 'live'; return; }
    liveLabel.textContent = status;
  }

  var feed = new CI.Feed({}, {
    hello: function (info) {
      $('journal').textContent = info.enabled ? 'journal: ring buffer of ' + info.size : 'journal off';
    },
    status: setLive,
    entry: function (entry) {
      if (state.paused) {
        state.pending.push(entry);
        setLive(state.live);
        return;
      }
      add([entry], true);
    },
  });

  function load() {
    feed.close();
    clearView();
    state.lastSeq = 0;
    var params = { app_id: state.app, user_id: state.user };
    feed.params = params;
    return CI.getJSON('/inspector/api/timeline' + CI.qs(Object.assign({ limit: MAX_ROWS }, params)))
      .then(function (data) {
        add(data.entries, false);
        $('journal').textContent = data.enabled
          ? 'journal: ' + data.count + ' / ' + data.size : 'journal off (journal_size = 0)';
        feed.open(Math.max(data.last_seq, state.lastSeq));
        if (boot.focus) focus(boot.focus);
      })
      .catch(function () { setLive('down'); setTimeout(load, 2000); });
  }

  function focus(seq) {
    boot.focus = null;
    var item = state.entries.filter(function (i) { return i.entry.seq === seq; })[0];
    if (!item) return;
    state.autoscroll = false;
    $('autoscroll').checked = false;
    toggle(item, true);
    item.row.scrollIntoView({ block: 'center' });
  }

  // -- controls -----------------------------------------------------------------------------------------

  pauseBtn.addEventListener('click', function () {
    state.paused = !state.paused;
    pauseBtn.classList.toggle('is-paused', state.paused);
    pauseBtn.classList.toggle('is-live', !state.paused);
    pauseBtn.setAttribute('aria-pressed', String(state.paused));
    root.querySelector('[data-role="pause-label"]').textContent = state.paused ? 'Resume' : 'Pause';
    if (!state.paused) {
      var backlog = state.pending;
      state.pending = [];
      add(backlog, true);
    }
    setLive(state.live);
  });
  root.querySelector('[data-action="clear"]').addEventListener('click', clearView);

  root.querySelectorAll('[data-kind]').forEach(function (chip) {
    if (chip.tagName !== 'BUTTON') return;
    chip.addEventListener('click', function (ev) {
      var kind = chip.getAttribute('data-kind');
      if (ev.altKey || ev.metaKey) {
        // alt-click: show only this kind (again: show all)
        var only = Object.keys(state.kinds).every(function (k) { return state.kinds[k] === (k === kind); });
        Object.keys(state.kinds).forEach(function (k) { state.kinds[k] = only || k === kind; });
      } else {
        state.kinds[kind] = !state.kinds[kind];
      }
      root.querySelectorAll('button[data-kind]').forEach(function (c) {
        var on = state.kinds[c.getAttribute('data-kind')];
        c.classList.toggle('is-on', on);
        c.setAttribute('aria-pressed', String(on));
      });
      applyFilter();
    });
  });

  var searchTimer = null;
  $('search').addEventListener('input', function (ev) {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.search = ev.target.value.trim().toLowerCase(); applyFilter(); }, 120);
  });
  $('app').addEventListener('change', function (ev) { state.app = ev.target.value; load(); });
  $('user').addEventListener('change', function (ev) { state.user = ev.target.value; load(); });
  $('autoscroll').addEventListener('change', function (ev) {
    state.autoscroll = ev.target.checked;
    if (state.autoscroll) scroller.scrollTop = scroller.scrollHeight;
  });
  scroller.addEventListener('wheel', function (ev) {
    // scrolling up while following the tail stops following, as in browser devtools
    if (ev.deltaY < 0 && state.autoscroll) { state.autoscroll = false; $('autoscroll').checked = false; }
  }, { passive: true });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') state.entries.forEach(function (item) { toggle(item, false); });
  });

  load();
})();
