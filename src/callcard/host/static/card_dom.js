/*
 * callcard card UI, DOM kit: the element builder h(), the icon set (icon()) and morph(), which makes a
 * live subtree match freshly built nodes. Knows nothing about calls; card_view.js, card_popups.js and
 * card.js build with it.
 *
 * Registers CallcardParts.dom = {h, icon, morph}. CallcardParts is the one namespace the page scripts
 * share code through: each file adds one key, read by the files loaded after it (host/pages.py order).
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};

  // Icons: 24x24 stroke paths (drawn for callcard); "f:" prefix = filled shape.
  var HANDSET = 'M5.2 3.5h3.1l1.6 4.3-2.1 1.4a11.5 11.5 0 0 0 7 7l1.4-2.1 4.3 1.6v3.1a2 2 0 0 1-2.1 2' +
    'A16.5 16.5 0 0 1 3.2 5.6a2 2 0 0 1 2-2.1z';
  var ICONS = {
    phone: HANDSET,
    hangup: 'R' + HANDSET,
    close: 'M6.5 6.5l11 11M17.5 6.5l-11 11',
    mic: 'M12 3.5a3 3 0 0 0-3 3V12a3 3 0 0 0 6 0V6.5a3 3 0 0 0-3-3zM5.5 11.5a6.5 6.5 0 0 0 13 0M12 18v2.5',
    micOff: 'M12 3.5a3 3 0 0 0-3 3V12a3 3 0 0 0 6 0V6.5a3 3 0 0 0-3-3zM5.5 11.5a6.5 6.5 0 0 0 13 0' +
      'M12 18v2.5M4 4l16 16',
    hold: 'M9 5.5v13M15 5.5v13',
    star: 'M12 3.6l2.6 5.2 5.8.9-4.2 4.1 1 5.7L12 16.8l-5.2 2.7 1-5.7-4.2-4.1 5.8-.9z',
    transfer: 'M4 8.5h14M14.5 5l3.5 3.5-3.5 3.5M20 15.5H6M9.5 12L6 15.5 9.5 19',
    dialpad: 'D',
    check: 'M5 12.5l4.5 4.5L19 7.5',
    undo: 'M9 14.5L4.5 10 9 5.5M4.5 10H14a5.5 5.5 0 0 1 0 11h-2',
    bell: 'M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 1.5h-15zM10 20.5a2 2 0 0 0 4 0',
    redial: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3M19.5 4v4.5H15',
    skip: 'M5 6l8 6-8 6zM16.5 6v12',
    next: 'M4.5 12h15M14 6.5l5.5 5.5-5.5 5.5',
    fold: 'M6 9.5l6 6 6-6',
    expand: 'M6 14.5l6-6 6 6',
    incoming: 'M17 7L7 17M7 9.5V17h7.5',
    outgoing: 'M7 17L17 7M9.5 7H17v7.5',
    callback: 'M4.5 11a7.5 7.5 0 0 1 13.4-4.1M18 3v4h-4M19.5 13a7.5 7.5 0 0 1-13.4 4.1M6 21v-4h4',
    user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4.5 20.5a7.5 7.5 0 0 1 15 0',
    company: 'M4 20.5V4h10v16.5M14 9h6v11.5M3 20.5h18M7 8h4M7 12h4M7 16h4',
    lead: 'M5.5 21V4M5.5 4.5h12l-2.5 4 2.5 4h-12',
    comment: 'M4 5h16v11H9.5L4 20z',
    deal: 'M3.5 8h17v11.5h-17zM8.5 8V5h7v3M3.5 13h17',
    invoice: 'M6 3h9l4 4v14H6zM14.5 3v4.5H19M9 12.5h7M9 16.5h5',
    userPlus: 'M10 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM3 20.5a7 7 0 0 1 12.5-4.3M19 14v6M16 17h6',
    line: 'M9 3.5L7 20.5M17 3.5l-2 17M4 9h16.5M3.5 15H20',
    search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5L20 20',
    generic: 'M12 12m-2 0a2 2 0 1 0 4 0a2 2 0 1 0-4 0'
  };
  var SVG_NS = 'http://www.w3.org/2000/svg';

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('class', 'cc-icon');
    var d = ICONS[name] || ICONS.generic;
    if (d === 'D') {  // keypad: 3x4 dots
      for (var i = 0; i < 10; i++) {
        var c = document.createElementNS(SVG_NS, 'circle');
        c.setAttribute('cx', i === 9 ? 12 : 6 + (i % 3) * 6);
        c.setAttribute('cy', 4 + Math.floor(i / 3) * 5.5);
        c.setAttribute('r', 1.6);
        c.setAttribute('class', 'cc-icon-fill');
        svg.appendChild(c);
      }
      return svg;
    }
    var p = document.createElementNS(SVG_NS, 'path');
    if (d.charAt(0) === 'R') { d = d.slice(1); p.setAttribute('transform', 'rotate(135 12 12)'); }
    p.setAttribute('d', d);
    svg.appendChild(p);
    return svg;
  }

  /** Make `parent`'s children match `fresh` (nodes just built by h()), changing only what differs, so a
   * re-render repaints only the parts of the card that changed (the rest keeps its nodes, focus and
   * caret). h() keeps everything in attributes except form fields' values, which are copied. */
  function morph(parent, fresh) {
    for (var i = 0; i < fresh.length; i++) {
      var cur = parent.childNodes[i], next = fresh[i];
      if (!cur) parent.appendChild(next);
      else if (sameKind(cur, next)) patch(cur, next);
      else parent.replaceChild(next, cur);
    }
    while (parent.childNodes.length > fresh.length) parent.removeChild(parent.lastChild);
  }

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName && a.namespaceURI === b.namespaceURI &&
      (a.nodeType !== 1 || a.getAttribute('type') === b.getAttribute('type'));
  }

  function patch(cur, next) {
    if (cur.nodeType !== 1) {
      if (cur.nodeValue !== next.nodeValue) cur.nodeValue = next.nodeValue;
      return;
    }
    var field = cur.tagName === 'INPUT' || cur.tagName === 'TEXTAREA';
    if (field && cur.value !== next.value) cur.value = next.value;
    if (cur.isEqualNode(next)) return;
    var i, attr, old = cur.attributes, wanted = next.attributes;
    for (i = old.length - 1; i >= 0; i--) {
      if (!next.hasAttribute(old[i].name)) cur.removeAttribute(old[i].name);
    }
    for (i = 0; i < wanted.length; i++) {
      attr = wanted[i];
      if (cur.getAttribute(attr.name) !== attr.value) cur.setAttribute(attr.name, attr.value);
    }
    morph(cur, Array.prototype.slice.call(next.childNodes));
  }

  ns.dom = {h: h, icon: icon, morph: morph};
})(window);
