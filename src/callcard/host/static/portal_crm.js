/*
 * callcard portal page, the CRM entity page's detail tabs: the main pane plus one tab per app bound to
 * the entity's detail-tab placement (boot.crm.placement); an app tab's frame is loaded on its first
 * activation and kept while the page lives.
 *
 *   var crm = CallcardParts.portalCrm.create(boot, server, frames, toast);
 *   crm.setup(); crm.replaced(sid, fresh)   // a frame was re-rendered
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var doc = global.document;
  var el = ns.portalUi.el;

  function create(boot, server, frames, toast) {
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
          crmFrames[key] = frames.track(frames.mount(pane, answer.reply, null));
        }).catch(function (err) { delete crmFrames[key]; toast('Cannot open the tab: ' + err.message); });
      });
      body.firstElementChild && body.firstElementChild.setAttribute('data-crm-pane', 'main');
    }

    /** The frame `sid` was re-rendered as `fresh` (setInstallFinish). */
    function replaced(sid, fresh) {
      Object.keys(crmFrames).forEach(function (k) {
        var tracked = crmFrames[k];  // 'loading' until the server answers: no frame (and no sid) yet
        if (tracked !== 'loading' && tracked.desc.appSid === sid) crmFrames[k] = fresh;
      });
    }

    return {setup: setupCrmTabs, replaced: replaced};
  }

  ns.portalCrm = {create: create};
})(window);
