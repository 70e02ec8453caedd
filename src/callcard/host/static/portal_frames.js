/*
 * callcard portal page, app frames (wire-protocol.md §1-§3; placements.md §3, §4): an iframe and its
 * hidden POST form built from a frame descriptor the server rendered, registered as a bridge layout,
 * its insertion -> first onload time reported; frames kept by appSid so one can be re-rendered in place
 * (setInstallFinish); and the PAGE_BACKGROUND_WORKER frames, inserted in row order.
 *
 * Registers CallcardParts.portalFrames = {create(bridge, server)} (uses CallcardParts.portalUi.el).
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var doc = global.document;
  var el = ns.portalUi.el;

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

  /** Frames of one page: `bridge` gets a layout per frame, `server` the load-time notices. */
  function create(bridge, server) {
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

    var mountedBySid = new Map();

    function track(mounted) { mountedBySid.set(mounted.desc.appSid, mounted); return mounted; }

    /** Stop tracking a frame and remove it. */
    function drop(mounted) {
      mountedBySid.delete(mounted.desc.appSid);
      unmountFrame(mounted);
    }

    /** Replace a tracked frame by a fresh render in the same place (setInstallFinish); returns the new
     * frame, or null when `sid` is not a tracked frame. */
    function reload(sid, desc) {
      var old = mountedBySid.get(sid);
      if (!old) return null;
      var container = old.iframe.parentNode;
      mountedBySid.delete(sid);
      unmountFrame(old);
      return track(mountFrame(container, desc, null));
    }

    /** The PAGE_BACKGROUND_WORKER frames, each in its placement_rest_<rowId> wrapper; a load marks the
     * home page's list item. */
    function insertBackground(boot) {
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

    return {
      mount: mountFrame, unmount: unmountFrame, track: track, drop: drop, reload: reload,
      insertBackground: insertBackground
    };
  }

  ns.portalFrames = {create: create};
})(window);
