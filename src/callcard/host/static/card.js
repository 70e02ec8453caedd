/*
 * callcard: the operator's call card UI (no framework, no dependencies).
 *
 *   var ui = window.CallcardUI.mount(rootEl, {onPress(button, value), onTab(tabId), messages,
 *                                             onCrmAction(name, view)});
 *   ui.render(view, tabs);   // view = CardService view (null = no card); tabs = [{id, title, active}]
 *   ui.destroy();
 *
 * The component only renders what the view says and reports clicks; the server decides everything.
 * Test hooks (stable): [data-callcard="card"][data-ui-state], [data-button], [data-role], [data-tab].
 *
 * This file holds the component: messages, the skeleton, the render pass, the ticking timer and the
 * input events. It is built from card_dom.js (h, icon, morph), card_view.js (the sections) and
 * card_popups.js (keypad, rating, transfer picker), loaded before it through CallcardParts.
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts;
  var h = ns.dom.h;
  var morph = ns.dom.morph;

  var MESSAGES = {
    dir_incoming: 'Incoming call', dir_outgoing: 'Outgoing call', dir_callback: 'Callback',
    timer: 'Call duration #MIN#:#SEC#', hiddenNumber: 'Hidden number', unknownNumber: 'Unknown number',
    answer: 'Answer', skip: 'Skip', call: 'Call', hangup: 'Hang up', hold: 'Hold', mute: 'Mute',
    transfer: 'Transfer', transferComplete: 'Transfer', transferCancel: 'Return to call', close: 'Close',
    notifyAdmin: 'Notify admin', redial: 'Call again', next: 'Next', fold: 'Minimize', expand: 'Expand',
    qualityMeter: 'Rate', dialpad: 'Keypad',
    addComment: 'Comment', addDeal: 'Deal', addInvoice: 'Invoice', addLead: 'Lead', addContact: 'Contact',
    commentTitle: 'Call comment', commentPlaceholder: 'What was the call about?', commentSave: 'Save comment',
    commentHint: 'Ctrl+Enter to save', commentEditing: 'Editing',
    qualityTitle: 'How was the call quality?', qualityStar: '#N# of 5',
    transferTitle: 'Transfer call', transferSearch: 'Search colleagues', transferEmpty: 'No colleagues found',
    transferPhone: 'Phone number', transferPhoneGo: 'Transfer', popupClose: 'Close',
    entity_CONTACT: 'Contact', entity_COMPANY: 'Company', entity_LEAD: 'Lead', entity_DEAL: 'Deal',
    notInCrm: 'Not in CRM', appsLabel: 'Applications', noTab: 'Select an application tab'
  };

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  /** Seconds -> {min, sec} strings (minutes keep growing past 99, as the platform does). */
  function splitTime(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    return {min: pad2(Math.floor(s / 60)), sec: pad2(s % 60)};
  }

  function mount(root, options) {
    options = options || {};
    var msg = Object.assign({}, MESSAGES, options.messages || {});
    var onPress = typeof options.onPress === 'function' ? options.onPress : function () {};
    var onTab = typeof options.onTab === 'function' ? options.onTab : function () {};
    // CRM row actions other than the comment (deal, invoice, lead, contact) are not card buttons:
    // CardService.press() rejects them, so they go to this hook instead of onPress (the portal page
    // sends them to the server as `crm` requests, portal_card.js).
    var onCrmAction = typeof options.onCrmAction === 'function' ? options.onCrmAction : function () {};

    var st = {
      view: null, tabs: [], comment: '', editorWasOpen: false,
      timer: {base: 0, at: 0, running: false, handle: null}
    };
    var els = null;  // persistent skeleton while a card exists

    function t(key, vars) {
      var s = msg[key] !== undefined ? msg[key] : key;
      Object.keys(vars || {}).forEach(function (k) { s = s.split('#' + k + '#').join(vars[k]); });
      return s;
    }

    function press(name, value) {
      if (arguments.length > 1) onPress(name, value); else onPress(name);
    }

    var sections = ns.cardView.create(t, msg);
    var popups = ns.cardPopups.create({
      t: t, press: press,
      view: function () { return st.view; },
      main: function () { return els.main; },
      renderMain: function () { renderMain(false); },
      paintTimer: function () { paintTimer(); }
    });

    // ---- skeleton ------------------------------------------------------------------------------
    function build() {
      var main = h('div', {class: 'cc-main'});
      var tabStrip = h('div', {class: 'cc-tabs', role: 'tablist', 'aria-label': t('appsLabel')});
      // The tab body must survive re-renders: moving or recreating it would reload the app iframe.
      var tabBody = h('div', {class: 'cc-tab-body', 'data-role': 'tab-body', 'data-empty-text': t('noTab')});
      var side = h('aside', {class: 'cc-side'}, [tabStrip, tabBody]);
      var win = h('div', {class: 'cc-window', role: 'dialog', 'aria-modal': 'false'}, [main, side]);
      var mini = h('div', {class: 'cc-mini', role: 'region'});
      var card = h('div', {class: 'cc', 'data-callcard': 'card'},
        [h('div', {class: 'cc-backdrop'}), h('div', {class: 'cc-stage'}, [win]), mini]);
      card.addEventListener('click', onClick);
      card.addEventListener('input', onInput);
      card.addEventListener('keydown', onFieldKey);
      win.addEventListener('dblclick', onDblClick);
      root.appendChild(card);
      els = {card: card, win: win, main: main, side: side, tabStrip: tabStrip, tabBody: tabBody, mini: mini};
    }

    function teardown() {
      stopTimer();
      if (els) { els.card.remove(); els = null; }
      popups.reset();
      st.editorWasOpen = false;
      st.comment = '';
    }

    // ---- render --------------------------------------------------------------------------------
    function render(view, tabs) {
      st.view = view || null;
      st.tabs = Array.isArray(tabs) ? tabs : [];
      if (!st.view) { teardown(); return; }
      if (!els) build();
      var v = st.view;
      popups.sync(v);
      var comment = v.comment || {};
      if (comment.editorOpen && !st.editorWasOpen) st.comment = comment.text || '';
      var focusEditor = comment.editorOpen && !st.editorWasOpen;
      st.editorWasOpen = !!comment.editorOpen;

      var card = els.card;
      card.setAttribute('data-ui-state', v.uiState || '');
      card.setAttribute('data-folded', v.folded ? 'true' : 'false');
      card.className = 'cc cc-state-' + (v.uiState || 'unknown') + (v.folded ? ' cc-is-folded' : '') +
        (st.tabs.length ? ' cc-has-tabs' : '');
      els.win.setAttribute('aria-label', v.title || t('dir_' + (v.direction || 'incoming')));
      renderMain(focusEditor);
      renderTabs();
      renderMini();
      syncTimer();
    }

    /** Render the unfolded card body (morphed: only what changed is touched), keeping focus and caret in
     * fields. */
    function renderMain(focusEditor) {
      var v = st.view;
      var active = document.activeElement;
      var focusKey = active && els.main.contains(active) ? active.getAttribute('data-focus') : null;
      var sel = focusKey && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
      var parts = [];
      if (!v.folded) {  // folded: only the mini panel exists (no duplicate hooks)
        parts.push(sections.header(v), sections.status(v));
        var crm = sections.crmButtons(v);
        if (crm) parts.push(crm);
        if (v.comment && v.comment.editorOpen) parts.push(sections.editor(st.comment));
        parts.push(sections.actions(v, popups.kind()));
        if (popups.kind()) parts.push(popups.render(v));
      }
      morph(els.main, parts);
      if (v.folded) return;
      var target = focusEditor ? els.main.querySelector('[data-focus="comment"]') :
        focusKey ? els.main.querySelector('[data-focus="' + focusKey + '"]') : null;
      if (target) {
        target.focus();
        if (sel && target.setSelectionRange) target.setSelectionRange(sel[0], sel[1]);
      }
    }

    // ---- tabs (CALL_CARD apps) and the folded mini panel --------------------------------------
    function renderTabs() {
      morph(els.tabStrip, sections.tabs(st.tabs));
    }

    function renderMini() {
      var v = st.view;
      if (!v.folded) { morph(els.mini, []); return; }
      els.mini.setAttribute('aria-label', v.title || '');
      morph(els.mini, sections.mini(v));
    }

    // ---- timer ---------------------------------------------------------------------------------
    function stopTimer() {
      if (st.timer.handle) clearTimeout(st.timer.handle);
      st.timer.handle = null;
    }

    /** Re-base the timer on the view's elapsed seconds; a running timer ticks on whole seconds. */
    function syncTimer() {
      var tm = st.view.timer || {};
      stopTimer();
      st.timer.base = Number(tm.elapsed) || 0;
      st.timer.at = Date.now();
      st.timer.running = !!tm.running;
      paintTimer();
      if (st.timer.running) schedule();
    }

    function currentSeconds() {
      return st.timer.base + (st.timer.running ? (Date.now() - st.timer.at) / 1000 : 0);
    }

    function schedule() {
      var frac = currentSeconds() % 1;
      st.timer.handle = setTimeout(function () { paintTimer(); schedule(); }, Math.max(20, (1 - frac) * 1000));
    }

    function paintTimer() {
      if (!els) return;
      var parts = splitTime(currentSeconds() + 1e-6);
      var node = els.card.querySelector('[data-role="timer"]');
      if (!node) return;
      node.textContent = st.view.folded ? parts.min + ':' + parts.sec : t('timer', {MIN: parts.min, SEC: parts.sec});
      var whole = Math.floor(currentSeconds() + 1e-6);
      node.setAttribute('data-seconds', String(whole));
      node.setAttribute('data-tick', String(whole % 2)); // the live dot's blink (card.css)
    }

    // ---- events --------------------------------------------------------------------------------
    function onClick(e) {
      var v = st.view;
      if (!v) return;
      var el = e.target.closest('[data-button],[data-tab],[data-action],[data-crm-button]');
      if (!el || !els.card.contains(el)) {
        // a click on the card's blank area dismisses an open popup
        if (popups.kind() && !e.target.closest('.cc-popover')) popups.set(null);
        return;
      }
      if (el.disabled) return;
      if (el.hasAttribute('data-tab')) { onTab(el.getAttribute('data-tab')); return; }
      if (el.getAttribute('data-action') === 'popup-close') { popups.set(null); return; }
      var name = el.getAttribute('data-button');
      if (!name) { onCrmAction(el.getAttribute('data-crm-button'), v); return; }
      if (popups.click(name, el, v)) return;
      if (name === 'commentSave') { press('commentSave', st.comment); return; }
      if (popups.kind()) popups.set(null);
      press(name);
    }

    function onInput(e) {
      var role = e.target.getAttribute('data-role');
      if (role === 'comment') st.comment = e.target.value;
      else popups.input(role, e.target);
    }

    function onFieldKey(e) {
      var role = e.target.getAttribute && e.target.getAttribute('data-role');
      if (role === 'comment' && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        press('commentSave', st.comment);
      } else {
        popups.fieldKey(role, e);
      }
    }

    function onDblClick(e) {
      var v = st.view;
      if (!v || v.folded || !v.foldable) return;
      if (e.target.closest('button,a,input,textarea,.cc-popover,.cc-side')) return;
      e.preventDefault();
      press('fold');
    }

    function onKeyDown(e) {
      var v = st.view;
      if (!v || !els || e.defaultPrevented) return;
      var tag = (e.target && e.target.tagName) || '';
      var inField = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
      if (e.key === 'Escape') {
        if (popups.kind()) { e.preventDefault(); popups.set(null); return; }
        if (inField) return;  // never close the card while the operator is typing
        // Esc is its own press, not a click on close: it closes states without a close button too
        // (outgoing, redial) and fires no closeButtonClick (call-card.md §3.3)
        if (v.closable && !v.folded) { e.preventDefault(); press('escape'); }
        return;
      }
      popups.key(e, inField);
    }

    function onDocClick(e) {
      // A click anywhere outside the card dismisses an open popup. The path is taken at dispatch
      // time: the clicked node may already be detached by a re-render of the card.
      if (popups.kind() && els && e.composedPath().indexOf(els.card) < 0) popups.set(null);
    }

    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('click', onDocClick);

    return {
      render: render,
      destroy: function () {
        document.removeEventListener('keydown', onKeyDown);
        document.removeEventListener('click', onDocClick);
        teardown();
        st.view = null;
      }
    };
  }

  global.CallcardUI = {mount: mount, messages: MESSAGES, formatTime: function (s) {
    var p = splitTime(s);
    return p.min + ':' + p.sec;
  }};
})(window);
