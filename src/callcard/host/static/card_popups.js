/*
 * callcard card UI, the popups anchored to the action row: the dialpad keypad, the quality rating and the
 * transfer target picker (colleague search or a phone number). Holds their state (open popup, digits
 * dialed, last grade, search and phone drafts) and the clicks, typing and keys that drive them.
 *
 * Registers CallcardParts.cardPopups = {create(ctx)} (uses CallcardParts.dom and .cardView).
 * Test hooks (stable): [data-role="popup"][data-popup], [data-button="dialpad-N" | "quality-N" |
 * "transfer-target-ID" | "transfer-pstn"], [data-role="dialed" | "transfer-search" | "transfer-phone"].
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var h = ns.dom.h;
  var icon = ns.dom.icon;
  var initials = ns.cardView.initials;
  var POPUP_FOR = ns.cardView.POPUP_FOR;

  var KEYS = [['1', ''], ['2', 'ABC'], ['3', 'DEF'], ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'],
    ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'], ['*', ''], ['0', '+'], ['#', '']];

  /** Popups of one mounted card. `ctx` gives what only the card has:
   *   t(key, vars), press(name, value), view() -> current view, main() -> the card body element,
   *   renderMain() -> re-render the body (unfolded), paintTimer() -> repaint the running timer after it
   *   (its current value: the view's elapsed time is as old as the view). */
  function create(ctx) {
    var t = ctx.t;
    var ps = {kind: null, fresh: false, grade: null, dialed: '', search: '', phone: ''};

    function popupAnchor(popup) {
      return popup === 'quality' ? 'qualityMeter' : popup;
    }

    /** Close the popup when its button is gone or the card folded (no re-render: the caller renders). */
    function sync(v) {
      var buttons = Array.isArray(v.buttons) ? v.buttons : [];
      if (ps.kind && (v.folded || buttons.indexOf(popupAnchor(ps.kind)) < 0)) ps.kind = null;
    }

    function render(v) {
      var kind = ps.kind, body, title;
      if (kind === 'dialpad') { title = t('dialpad'); body = renderDialpad(); }
      else if (kind === 'quality') { title = t('qualityTitle'); body = renderQuality(); }
      else { title = t('transferTitle'); body = renderTransfer(v); }
      // animate only when the popup opens, not on every server-driven re-render
      var enter = ps.fresh ? ' cc-enter' : '';
      ps.fresh = false;
      return h('div', {class: 'cc-popover cc-popover-' + kind + enter, role: 'dialog', 'data-role': 'popup',
        'data-popup': kind, 'aria-label': title}, [
        h('div', {class: 'cc-popover-head'}, [h('span', {class: 'cc-popover-title', text: title}),
          h('button', {type: 'button', class: 'cc-popover-close', 'data-action': 'popup-close',
            'aria-label': t('popupClose')}, [icon('close')])]),
        body]);
    }

    function renderDialpad() {
      var display = h('div', {class: 'cc-dialed', 'data-role': 'dialed', 'aria-live': 'polite'});
      display.textContent = ps.dialed;
      return h('div', {class: 'cc-dialpad'}, [display, h('div', {class: 'cc-keys'}, KEYS.map(function (k) {
        return h('button', {type: 'button', class: 'cc-key', 'data-button': 'dialpad-' + k[0],
          'aria-label': k[0]}, [h('span', {class: 'cc-key-main', text: k[0]}),
          h('span', {class: 'cc-key-sub', text: k[1] || '\u00a0'})]);
      }))]);
    }

    function renderQuality() {
      var stars = [];
      for (var i = 1; i <= 5; i++) {
        var on = ps.grade !== null && i <= ps.grade;
        stars.push(h('button', {type: 'button', class: 'cc-star' + (on ? ' cc-star-on' : ''),
          'data-button': 'quality-' + i, 'aria-label': t('qualityStar', {N: i})}, [icon('star')]));
      }
      return h('div', {class: 'cc-stars', role: 'group'}, stars);
    }

    function renderTransfer(v) {
      var q = ps.search.trim().toLowerCase();
      var targets = (Array.isArray(v.transferTargets) ? v.transferTargets : []).filter(function (u) {
        return !q || String(u.name || '').toLowerCase().indexOf(q) >= 0 || String(u.id) === q;
      });
      var search = h('input', {type: 'search', class: 'cc-input', 'data-role': 'transfer-search',
        'data-focus': 'transfer-search', placeholder: t('transferSearch'), 'aria-label': t('transferSearch')});
      search.value = ps.search;
      var list = h('ul', {class: 'cc-targets', role: 'list'}, targets.map(function (u) {
        var all = v.transferTargets;
        return h('li', null, [h('button', {type: 'button', class: 'cc-target',
          'data-button': 'transfer-target-' + u.id, 'data-index': all.indexOf(u)}, [
          h('span', {class: 'cc-target-avatar', text: initials(u.name) || '?'}),
          h('span', {class: 'cc-target-name', text: u.name || String(u.id)}),
          icon('transfer')])]);
      }));
      if (!targets.length) list.appendChild(h('li', {class: 'cc-targets-empty', text: t('transferEmpty')}));
      var phone = h('input', {type: 'tel', class: 'cc-input', 'data-role': 'transfer-phone',
        'data-focus': 'transfer-phone', placeholder: t('transferPhone'), 'aria-label': t('transferPhone'),
        inputmode: 'tel', autocomplete: 'off'});
      phone.value = ps.phone;
      return h('div', {class: 'cc-transfer'}, [
        h('label', {class: 'cc-search'}, [icon('search'), search]), list,
        h('div', {class: 'cc-phone-row'}, [phone, h('button', {type: 'button', class: 'cc-btn-text',
          'data-button': 'transfer-pstn'}, [icon('phone'), h('span', {text: t('transferPhoneGo')})])])
      ]);
    }

    /** Open popup `kind` (null closes it) and re-render the card body. */
    function set(kind) {
      ps.kind = kind;
      ps.fresh = !!kind;
      if (kind === 'dialpad') ps.dialed = '';
      if (kind === 'transfer') { ps.search = ''; ps.phone = ''; }
      ctx.renderMain();
      ctx.paintTimer();
      if (kind === 'transfer') {
        var s = ctx.main().querySelector('[data-focus="transfer-search"]');
        if (s) s.focus();
      }
    }

    function pickTarget(u) {
      var v = ctx.view();
      set(null);
      ctx.press('transfer', {target: u.id, phoneNumber: v.phoneNumber});
    }

    function dial(key) {
      ps.dialed = (ps.dialed + key).slice(-24);
      var d = ctx.main().querySelector('[data-role="dialed"]');
      if (d) d.textContent = ps.dialed;
      ctx.press('dialpad', key);
    }

    function submitPhone() {
      var phone = ps.phone.trim();
      var input = ctx.main().querySelector('[data-role="transfer-phone"]');
      if (!phone) {
        if (input) { input.classList.add('cc-invalid'); input.focus(); }
        return;
      }
      ps.phone = '';
      pickTarget({id: phone});
    }

    /** A click on [data-button] `name` (element `el`); true when it belongs to a popup or opens one. */
    function click(name, el, v) {
      var m;
      if ((m = /^dialpad-(.)$/.exec(name))) { dial(m[1]); return true; }
      if ((m = /^quality-([1-5])$/.exec(name))) {
        ps.grade = Number(m[1]);
        set(null);
        ctx.press('qualityMeter', m[1]);
        return true;
      }
      if (/^transfer-target-/.test(name)) {
        var u = (v.transferTargets || [])[Number(el.getAttribute('data-index'))];
        if (u) pickTarget(u);
        return true;
      }
      if (name === 'transfer-pstn') { submitPhone(); return true; }
      if (POPUP_FOR[name]) { set(ps.kind === POPUP_FOR[name] ? null : POPUP_FOR[name]); return true; }
      return false;
    }

    /** Typing in a popup field (`role` = its data-role). */
    function input(role, field) {
      if (role === 'transfer-phone') { ps.phone = field.value; field.classList.remove('cc-invalid'); }
      else if (role === 'transfer-search') { ps.search = field.value; ctx.renderMain(); ctx.paintTimer(); }
    }

    /** Enter in a popup field: the phone number transfers, the search picks its first match. */
    function fieldKey(role, e) {
      if (role === 'transfer-phone' && e.key === 'Enter') {
        e.preventDefault();
        submitPhone();
      } else if (role === 'transfer-search' && e.key === 'Enter') {
        e.preventDefault();
        var first = ctx.main().querySelector('.cc-target');
        if (first) first.click();
      }
    }

    /** A document keydown outside fields: digits, * and # type on an open dialpad. */
    function key(e, inField) {
      if (ps.kind === 'dialpad' && !inField && !e.ctrlKey && !e.metaKey && !e.altKey &&
          /^[0-9*#]$/.test(e.key)) {
        e.preventDefault();
        var btn = ctx.main().querySelector('[data-button="dialpad-' + e.key + '"]');
        if (btn) { btn.classList.add('cc-key-flash'); setTimeout(function () { btn.classList.remove('cc-key-flash'); }, 120); }
        dial(e.key);
      }
    }

    /** The card went away: forget the open popup and drafts (the last grade stays). */
    function reset() {
      ps.kind = null; ps.dialed = '';
      ps.search = ''; ps.phone = '';
    }

    return {
      kind: function () { return ps.kind; }, sync: sync, render: render, set: set, click: click,
      input: input, fieldKey: fieldKey, key: key, reset: reset
    };
  }

  ns.cardPopups = {create: create};
})(window);
