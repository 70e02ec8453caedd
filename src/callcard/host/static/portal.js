/*
 * callcard portal page bootstrap: the page's WebSocket, the app frames, the call card.
 *
 * Reads the boot JSON the server embedded (#callcard-boot), then:
 *  - opens /ws and says hello with the page id (portal_socket.js: requests `re` by id, pushed `events`,
 *    `card` and `toast` messages, batched fire-and-forget notices that never delay a reply);
 *  - creates the postMessage bridge (bridge.js) and inserts the PAGE_BACKGROUND_WORKER frames in row
 *    order, reporting each load time (portal_frames.js; placements.md §3, §4);
 *  - mounts the card UI (card.js) and renders every card view the server pushes; CALL_CARD tab frames
 *    are loaded on a tab's first activation (portal_card.js), CRM detail tabs likewise (portal_crm.js);
 *  - provides the page-only parts of the generic commands: toasts, sliders (openApplication, openPath;
 *    portal_ui.js), pickers (dialogs.js: selectUser, selectAccess, selectCRM), frame reloads
 *    (setInstallFinish), reloadData.
 *
 * This file only wires the parts (CallcardParts.portal*) together; it exposes `callcardPage` and
 * `callcardBridge` for tests and debugging.
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts;
  var doc = global.document;
  var boot = JSON.parse(doc.getElementById('callcard-boot').textContent);
  var el = ns.portalUi.el;
  var toast = ns.portalUi.toast;

  var server = ns.portalSocket.create(boot.pageId);

  // -- the bridge and the page-only parts of generic commands -------------------------------------------

  var select = global.CallcardDialogs.create(boot, el).select;

  // The hooks reach `slider` and the frames, made just below: no message is handled before this script
  // has run to its end.
  var bridge = new global.CallcardBridge({
    server: server,
    guardMs: boot.guardMs,
    hooks: {
      toast: toast,
      openPath: function (path, onClose) { return slider.openPath(path, onClose); },
      openApplication: function (layout, params, onClose) { slider.openApplication(layout, params, onClose); },
      closeApplication: function (layout) { return slider.closeApplication(layout); },
      select: select,
      reloadFrame: function (layout, desc) { reloadFrame(layout.sid, desc); },
      reloadData: function (answer) {
        var box = doc.getElementById('pp-entity');
        if (box && typeof answer.html === 'string') box.innerHTML = answer.html; // server-escaped HTML
      }
    }
  });
  global.callcardBridge = bridge; // for tests and debugging

  var frames = ns.portalFrames.create(bridge, server);
  var slider = ns.portalUi.createSlider(server, frames);
  var card = ns.portalCard.create(boot, server, frames, bridge, toast);
  var crm = ns.portalCrm.create(boot, server, frames, toast);

  /** Replace a frame by a fresh render in the same place (setInstallFinish). */
  function reloadFrame(sid, desc) {
    var fresh = frames.reload(sid, desc);
    if (!fresh) return;
    card.replaced(sid, fresh);
    crm.replaced(sid, fresh);
  }

  // -- wiring --------------------------------------------------------------------------------------------

  server.on('hello', function () { doc.documentElement.setAttribute('data-ws', 'open'); });
  server.on('events', function (msg) {
    bridge.deliver(msg.events);
    if (msg.sticky_ms) msg.events.forEach(function (ev) { bridge.replayToNewBindings(ev, msg.sticky_ms); });
  });
  server.on('card', function (msg) { card.show(msg.view || null); });
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
    card.mount();
    crm.setup();
    server.connect();
    frames.insertBackground(boot);
  }

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', start);
  else start();

  global.callcardPage = { boot: boot, server: server, toast: toast, openPath: slider.openPath };
})(window);
