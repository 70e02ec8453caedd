/*
 * callcard portal page, the call card: mounts the card UI (card.js) on #callcard-root and renders every
 * view the server pushes (at the next animation frame); sends the operator's presses and CRM-row chips
 * (`crm` requests, answered with a toast); loads the CALL_CARD tab frame on a tab's first activation (all
 * app tabs share one body) and drops it when the call changes or the card closes.
 *
 *   var card = CallcardParts.portalCard.create(boot, server, frames, bridge, toast);
 *   card.mount(); card.show(view | null); card.replaced(sid, fresh)   // a frame was re-rendered
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var doc = global.document;

  function create(boot, server, frames, bridge, toast) {
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
      if (tabFrame) { frames.drop(tabFrame); tabFrame = null; }
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
        tabFrame = frames.track(frames.mount(body, answer.reply, null));
      }).catch(function (err) { toast('Cannot open the tab: ' + err.message); });
    }

    function showCard(next) {
      if (nullTimer) { clearTimeout(nullTimer); nullTimer = null; }
      if (next && view && next.callId !== view.callId) dropTabFrame();
      if (!next && tabFrame) {
        // give CallCard::BeforeClose a moment to reach the tab frame before the frame is destroyed, and
        // longer if the bind guard still holds it back (a tab that bound it less than guardMs ago)
        var wait = Math.max(200, bridge.heldFor(tabFrame.desc.appSid) + 50);
        nullTimer = setTimeout(function () { nullTimer = null; view = null; dropTabFrame(); render(); }, wait);
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
        onCrmAction: onCrmAction,
        onTab: onTab
      });
    }

    var crmPending = false; // one CRM-row request at a time: a double click must not ask twice

    /** A CRM-row chip other than Comment (Lead, Contact, Deal, Invoice): the server decides (Lead and
     * Contact create the entity and bind the call; the new view and the entity events follow) and words
     * the toast, also for Deal and Invoice, which callcard does not emulate. */
    function onCrmAction(name) {
      if (crmPending || !name) return;
      crmPending = true;
      server.request({ t: 'crm', action: name }).then(function (answer) {
        if (answer.toast) toast(answer.toast);
      }).catch(function (err) { toast(err.message); })
        .then(function () { crmPending = false; });
    }

    /** The frame `sid` was re-rendered as `fresh` (setInstallFinish). */
    function replaced(sid, fresh) {
      if (tabFrame && tabFrame.desc.appSid === sid) tabFrame = fresh;
    }

    return {mount: mountCard, show: showCard, replaced: replaced};
  }

  ns.portalCard = {create: create};
})(window);
