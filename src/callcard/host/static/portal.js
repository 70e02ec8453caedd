/*
 * callcard portal page bootstrap: the page's WebSocket, the app frames, the call card.
 *
 * Reads the boot JSON the server embedded (#callcard-boot), then:
 *  - opens /ws and says hello with the page id (the server answers requests `re` by id and pushes
 *    `events`, `card` and `toast` messages). Fire-and-forget notices (timeline, conformance, load
 *    times) are batched: sent NOTICE_DELAY_MS later as one message, or carried by the next request,
 *    whose reply the server writes before handling them — they never delay a reply;
 *  - creates the postMessage bridge (bridge.js) and inserts the PAGE_BACKGROUND_WORKER frames in row
 *    order (wrapper div placement_rest_<rowId>, insertion time recorded, onload attached, form
 *    submitted), reporting each load time (placements.md §3, §4);
 *  - mounts the card UI (card.js) and renders every card view the server pushes; CALL_CARD tab frames
 *    are loaded on a tab's first activation, CRM detail tabs likewise;
 *  - provides the page-only parts of the generic commands: toasts, sliders (openApplication, openPath),
 *    pickers (dialogs.js: selectUser, selectAccess, selectCRM), frame reloads (setInstallFinish),
 *    reloadData.
 */
(function (global) {
  'use strict';
  var doc = global.document;
  var boot = JSON.parse(doc.getElementById('callcard-boot').textContent);
  var REQUEST_TIMEOUT_MS = 15000;
  var NOTICE_DELAY_MS = 16; // about one frame: a burst of postMessages costs one WebSocket message
  var NOTICE_BATCH_MAX = 200;

  // -- small DOM helpers -----------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'style') node.style.cssText = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function toast(text) {
    var box = doc.getElementById('pp-toasts');
    if (!box) return;
    var item = el('div', { class: 'pp-toast', role: 'status', text: text });
    box.appendChild(item);
    setTimeout(function () { item.classList.add('pp-toast--out'); }, 4000);
    setTimeout(function () { item.remove(); }, 4600);
  }

  // -- the page's WebSocket ----------------------------------------------------------------------------

  var server = (function () {
    var ws = null;
    var open = false;
    var outbox = [];
    var pending = new Map();
    var nextId = 1;
    var handlers = {};
    var retry = 0;
    var notices = [];
    var noticeTimer = null;

    function send(msg) {
      var text = JSON.stringify(msg);
      if (open) ws.send(text); else outbox.push(text);
    }

    function takeNotices() {
      var items = notices;
      notices = [];
      if (noticeTimer !== null) { clearTimeout(noticeTimer); noticeTimer = null; }
      return items;
    }

    function flushNotices() {
      noticeTimer = null;
      if (!notices.length) return;
      var items = takeNotices();
      send(items.length === 1 ? items[0] : { t: 'batch', items: items });
    }

    function connect() {
      var proto = global.location.protocol === 'https:' ? 'wss://' : 'ws://';
      ws = new global.WebSocket(proto + global.location.host + '/ws');
      ws.onopen = function () {
        ws.send(JSON.stringify({ t: 'hello', page: boot.pageId }));
        open = true;
        retry = 0;
        var queued = outbox;
        outbox = [];
        queued.forEach(function (text) { ws.send(text); });
      };
      ws.onmessage = function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg.t === 're') {
          var p = pending.get(msg.id);
          if (!p) return;
          pending.delete(msg.id);
          clearTimeout(p.timer);
          if (msg.ok) p.resolve(msg); else p.reject(new Error(msg.error || 'request failed'));
          return;
        }
        if (handlers[msg.t]) handlers[msg.t](msg);
      };
      ws.onclose = function () {
        open = false;
        pending.forEach(function (p) { clearTimeout(p.timer); p.reject(new Error('connection closed')); });
        pending.clear();
        doc.documentElement.setAttribute('data-ws', 'closed');
        // try again; a server that no longer knows this page answers `reload`
        retry = Math.min(retry ? retry * 2 : 500, 5000);
        setTimeout(connect, retry);
      };
    }

    return {
      connect: connect,
      on: function (type, fn) { handlers[type] = fn; },
      notify: function (msg) {
        notices.push(msg);
        if (notices.length >= NOTICE_BATCH_MAX) flushNotices();
        else if (noticeTimer === null) noticeTimer = setTimeout(flushNotices, NOTICE_DELAY_MS);
      },
      flush: flushNotices,
      request: function (msg) {
        var id = nextId++;
        msg.id = id;
        if (notices.length) msg.notices = takeNotices(); // in order, handled after this reply is out
        return new Promise(function (resolve, reject) {
          var timer = setTimeout(function () {
            pending.delete(id);
            reject(new Error('no answer from the server'));
          }, REQUEST_TIMEOUT_MS);
          pending.set(id, { resolve: resolve, reject: reject, timer: timer });
          send(msg);
        });
      }
    };
  })();

  // -- app frames ----------------------------------------------------------------------------------------

  /** Build the iframe and its hidden form from a descriptor (wire-protocol.md §1-§3). */
  function buildFrame(desc) {
    var iframe = el('iframe', {
      name: desc.frameName, id: desc.frameId, allow: desc.allow, frameborder: '0',
      'data-app-id': String(desc.appId), 'data-placement': desc.placement, class: 'pp-app-frame'
    });
    var form = el('form', {
      name: desc.formName, id: desc.formName, method: 'POST', action: desc.action, target: desc.frameName,
      style: 'display:none'
    });
    Object.keys(desc.fields).forEach(function (k) {
      var input = el('input', { type: 'hidden', name: k });
      input.value = desc.fields[k];
      form.appendChild(input);
    });
    return { iframe: iframe, form: form };
  }

  /** Insert a frame into `container`, register its layout, then submit the form. `onLoad(ms)` gets the
   * insertion -> first onload time (attached after insertion, as the platform does). */
  function mountFrame(container, desc, onLoad) {
    var parts = buildFrame(desc);
    container.appendChild(parts.iframe);
    container.appendChild(parts.form);
    var layout = bridge.addLayout(desc, parts.iframe);
    var t0 = global.performance.now();
    var loaded = false;
    parts.iframe.addEventListener('load', function () {
      if (loaded) return;
      loaded = true;
      var ms = global.performance.now() - t0;
      server.notify({ t: 'load', sid: desc.appSid, ms: ms });
      if (onLoad) onLoad(ms);
    });
    // submitDelayMs: the control API's slow-frame-load fault; the load is measured from insertion, so
    // the delay counts against the watchdog exactly as a slow handler would.
    if (desc.submitDelayMs > 0) {
      global.setTimeout(function () { parts.form.submit(); }, desc.submitDelayMs);
    } else {
      parts.form.submit();
    }
    return { layout: layout, iframe: parts.iframe, form: parts.form, desc: desc };
  }

  function unmountFrame(mounted) {
    if (!mounted) return;
    bridge.removeLayout(mounted.desc.appSid);
    mounted.iframe.remove();
    mounted.form.remove();
  }

  // -- the bridge and the page-only parts of generic commands -------------------------------------------

  var slider = null; // {node, onClose, mounted, appId}

  function closeSlider() {
    if (!slider) return;
    var s = slider;
    slider = null;
    if (s.mounted) unmountFrame(s.mounted);
    s.node.remove();
    if (s.onClose) s.onClose();
  }

  function openSlider(title, fill, onClose) {
    closeSlider();
    var body = el('div', { class: 'pp-slider__body' });
    var close = el('button', { type: 'button', class: 'pp-slider__close', 'aria-label': 'Close', text: '\u00d7' });
    var node = el('div', { class: 'pp-slider', 'data-role': 'slider' }, [
      el('div', { class: 'pp-slider__panel' }, [
        el('div', { class: 'pp-slider__head' }, [el('h2', { text: title }), close]), body])
    ]);
    close.addEventListener('click', closeSlider);
    doc.body.appendChild(node);
    slider = { node: node, onClose: onClose, mounted: null, appId: null };
    fill(body, slider);
    return slider;
  }

  var ALLOWED_PATH = /^\/(crm\/(deal|lead|contact|company)\/details\/\d+\/?|marketplace\/.*|company\/personal\/user\/\d+\/?.*|workgroups\/group\/\d+\/?.*)(\?.*)?$/;

  function openPath(path, onClose) {
    if (!ALLOWED_PATH.test(path)) return false;
    openSlider(path, function (body) {
      var url = path + (path.indexOf('?') >= 0 ? '&' : '?') + 'IFRAME=Y';
      body.appendChild(el('iframe', { src: url, class: 'pp-slider__frame' }));
    }, onClose);
    return true;
  }

  function openApplication(layout, params, onClose) {
    server.request({ t: 'frame', placement: 'DEFAULT', row: layout.appId, options: params })
      .then(function (answer) {
        var s = openSlider(answer.reply.title || 'Application', function (body, s) {
          s.appId = layout.appId;
          s.mounted = mountFrame(body, answer.reply, null);
          s.mounted.iframe.classList.add('pp-slider__frame');
        }, onClose);
        return s;
      })
      .catch(function (err) { toast('Cannot open the application: ' + err.message); });
  }

  var select = global.CallcardDialogs.create(boot, el).select;

  var bridge = new global.CallcardBridge({
    server: server,
    guardMs: boot.guardMs,
    hooks: {
      toast: toast,
      openPath: openPath,
      openApplication: openApplication,
      closeApplication: function (layout) {
        if (!slider || slider.appId !== layout.appId) return false;
        closeSlider();
        return true;
      },
      select: select,
      reloadFrame: function (layout, desc) { reloadFrame(layout.sid, desc); },
      reloadData: function (answer) {
        var box = doc.getElementById('pp-entity');
        if (box && typeof answer.html === 'string') box.innerHTML = answer.html; // server-escaped HTML
      }
    }
  });
  global.callcardBridge = bridge; // for tests and debugging

  /** Replace a frame by a fresh render in the same place (setInstallFinish). */
  var mountedBySid = new Map();

  function track(mounted) { mountedBySid.set(mounted.desc.appSid, mounted); return mounted; }

  function reloadFrame(sid, desc) {
    var old = mountedBySid.get(sid);
    if (!old) return;
    var container = old.iframe.parentNode;
    mountedBySid.delete(sid);
    unmountFrame(old);
    var fresh = track(mountFrame(container, desc, null));
    if (tabFrame && tabFrame.desc.appSid === sid) tabFrame = fresh;
    Object.keys(crmFrames).forEach(function (k) { if (crmFrames[k].desc.appSid === sid) crmFrames[k] = fresh; });
  }

  // -- background frames -------------------------------------------------------------------------------

  function insertBackground() {
    var container = doc.getElementById('intranet-placement-PAGE_BACKGROUND_WORKER');
    if (!container) return;
    boot.background.forEach(function (desc) {
      var wrap = el('div', { id: 'placement_rest_' + desc.rowId });
      container.appendChild(wrap);
      track(mountFrame(wrap, desc, function (ms) {
        var item = doc.querySelector('#pp-background-list [data-row-id="' + desc.rowId + '"]');
        if (item) {
          item.classList.add('is-loaded');
          item.setAttribute('data-load-ms', String(Math.round(ms)));
        }
      }));
    });
  }

  // -- the call card -------------------------------------------------------------------------------------

  var ui = null;
  var view = null;
  var activeTab = null;
  var tabFrame = null; // the one CALL_CARD frame (all app tabs share one body)
  var nullTimer = null;

  function tabs() {
    return (boot.cardTabs || []).map(function (t) {
      return { id: 'app-' + t.rowId, title: t.title, active: activeTab === 'app-' + t.rowId };
    });
  }

  var pendingRender = null; // {frame, timer} while a pushed view waits for the next animation frame

  function render() {
    if (pendingRender) {
      global.cancelAnimationFrame(pendingRender.frame);
      clearTimeout(pendingRender.timer);
      pendingRender = null;
    }
    if (ui) ui.render(view, tabs());
  }

  /** Render a view the server pushed at the next animation frame, when the browser paints anyway: the
   * messages before it (a reply, events for the frames) are posted first and the frames get the CPU
   * first; several views in one frame render once. The timer covers a hidden page (no frames). */
  function renderSoon() {
    if (pendingRender) return;
    pendingRender = { frame: global.requestAnimationFrame(render), timer: setTimeout(render, 100) };
  }

  function dropTabFrame() {
    if (tabFrame) { mountedBySid.delete(tabFrame.desc.appSid); unmountFrame(tabFrame); tabFrame = null; }
    activeTab = null;
  }

  function onTab(tabId) {
    if (!view || tabId === activeTab) return;
    var tab = (boot.cardTabs || []).filter(function (t) { return 'app-' + t.rowId === tabId; })[0];
    if (!tab) return;
    dropTabFrame();
    activeTab = tabId;
    render();
    server.request({ t: 'frame', placement: 'CALL_CARD', row: tab.rowId }).then(function (answer) {
      var body = doc.querySelector('#callcard-root [data-role="tab-body"]');
      if (!body || activeTab !== tabId || !view) return;
      tabFrame = track(mountFrame(body, answer.reply, null));
    }).catch(function (err) { toast('Cannot open the tab: ' + err.message); });
  }

  function showCard(next) {
    if (nullTimer) { clearTimeout(nullTimer); nullTimer = null; }
    if (next && view && next.callId !== view.callId) dropTabFrame();
    if (!next && tabFrame) {
      // give CallCard::BeforeClose a moment to reach the tab frame before the frame is destroyed
      nullTimer = setTimeout(function () { nullTimer = null; view = null; dropTabFrame(); render(); }, 200);
      return;
    }
    view = next;
    if (!view) { dropTabFrame(); bridge.clearSticky(); }
    renderSoon();
  }

  function mountCard() {
    var root = doc.getElementById('callcard-root');
    if (!root || boot.embedded) return;
    if (!global.CallcardUI) {
      ui = { render: function (v) { root.textContent = v ? JSON.stringify(v) : ''; } };
      return;
    }
    ui = global.CallcardUI.mount(root, {
      onPress: function (button, value) {
        var msg = { t: 'press', button: button };
        if (arguments.length > 1) msg.value = value;
        server.request(msg).then(function (answer) {
          if (!answer.ok && answer.error) toast(answer.error);
        }).catch(function (err) { toast(err.message); });
      },
      onTab: onTab
    });
  }

  // -- CRM detail tabs -----------------------------------------------------------------------------------

  var crmFrames = {};

  function setupCrmTabs() {
    var bar = doc.querySelector('.pp-tabbar');
    var body = doc.getElementById('pp-crm-tab-body');
    if (!bar || !body || !boot.crm) return;
    bar.addEventListener('click', function (e) {
      var btn = e.target.closest('[data-crm-tab]');
      if (!btn) return;
      var key = btn.getAttribute('data-crm-tab');
      Array.prototype.forEach.call(bar.children, function (b) {
        b.classList.toggle('pp-tab--active', b === btn);
      });
      Array.prototype.forEach.call(body.children, function (c) {
        c.style.display = c.getAttribute('data-crm-pane') === key ? '' : 'none';
      });
      if (key === 'main' || crmFrames[key]) return;
      var pane = el('div', { class: 'pp-crm-pane', 'data-crm-pane': key });
      body.appendChild(pane);
      crmFrames[key] = 'loading';
      server.request({ t: 'frame', placement: boot.crm.placement, row: Number(key) }).then(function (answer) {
        crmFrames[key] = track(mountFrame(pane, answer.reply, null));
      }).catch(function (err) { delete crmFrames[key]; toast('Cannot open the tab: ' + err.message); });
    });
    body.firstElementChild && body.firstElementChild.setAttribute('data-crm-pane', 'main');
  }

  // -- wiring --------------------------------------------------------------------------------------------

  server.on('hello', function () { doc.documentElement.setAttribute('data-ws', 'open'); });
  server.on('events', function (msg) {
    bridge.deliver(msg.events);
    if (msg.sticky_ms) msg.events.forEach(function (ev) { bridge.replayToNewBindings(ev, msg.sticky_ms); });
  });
  server.on('card', function (msg) { showCard(msg.view || null); });
  server.on('toast', function (msg) { toast(msg.text); });
  server.on('reload', function () {
    // the server no longer knows this page (it restarted): render it anew, but never in a loop
    var key = 'callcard-reloaded';
    var last = Number(global.sessionStorage.getItem(key) || 0);
    if (Date.now() - last > 10000) { global.sessionStorage.setItem(key, String(Date.now())); global.location.reload(); }
  });

  function start() {
    // the page is going away: the notices still waiting must reach the timeline
    global.addEventListener('pagehide', function () { server.flush(); });
    mountCard();
    setupCrmTabs();
    server.connect();
    insertBackground();
  }

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', start);
  else start();

  global.callcardPage = { boot: boot, server: server, toast: toast, openPath: openPath };
})(window);
