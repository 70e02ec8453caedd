/*
 * callcard portal page, the page's own UI: the element builder el(), toasts, and the slider that
 * openPath (allowed portal paths, in an iframe) and openApplication (the app's DEFAULT frame) open.
 *
 * Registers CallcardParts.portalUi = {el, toast, createSlider(server, frames)}.
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var doc = global.document;

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

  /** The page's one slider. `frames` (portal_frames.js) mounts the app frame openApplication shows. */
  function createSlider(server, frames) {
    var slider = null; // {node, onClose, mounted, appId}

    function closeSlider() {
      if (!slider) return;
      var s = slider;
      slider = null;
      if (s.mounted) frames.unmount(s.mounted);
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
            s.mounted = frames.mount(body, answer.reply, null);
            s.mounted.iframe.classList.add('pp-slider__frame');
          }, onClose);
          return s;
        })
        .catch(function (err) { toast('Cannot open the application: ' + err.message); });
    }

    function closeApplication(layout) {
      if (!slider || slider.appId !== layout.appId) return false;
      closeSlider();
      return true;
    }

    return {openPath: openPath, openApplication: openApplication, closeApplication: closeApplication};
  }

  ns.portalUi = {el: el, toast: toast, createSlider: createSlider};
})(window);
