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
 */
(function (global) {
  'use strict';

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

  // name -> [icon, tone]; tone drives colour: accept | danger | primary | neutral | tool
  var BUTTONS = {
    answer: ['phone', 'accept'], call: ['phone', 'accept'], redial: ['redial', 'accept'],
    hangup: ['hangup', 'danger'], skip: ['skip', 'danger'], transferCancel: ['undo', 'danger'],
    transferComplete: ['check', 'primary'], notifyAdmin: ['bell', 'primary'],
    close: ['close', 'neutral'], next: ['next', 'neutral'],
    hold: ['hold', 'tool'], mute: ['mic', 'tool'], qualityMeter: ['star', 'tool'],
    transfer: ['transfer', 'tool'], dialpad: ['dialpad', 'tool']
  };
  var POPUP_FOR = {dialpad: 'dialpad', qualityMeter: 'quality', transfer: 'transfer'};
  var CRM_ICONS = {addComment: 'comment', addDeal: 'deal', addInvoice: 'invoice', addLead: 'lead',
    addContact: 'userPlus'};
  var KEYS = [['1', ''], ['2', 'ABC'], ['3', 'DEF'], ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'],
    ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'], ['*', ''], ['0', '+'], ['#', '']];
  var RIGHT_SIDE = {hangup: 1, close: 1};
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

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  /** Seconds -> {min, sec} strings (minutes keep growing past 99, as the platform does). */
  function splitTime(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    return {min: pad2(Math.floor(s / 60)), sec: pad2(s % 60)};
  }

  function initials(name) {
    var parts = String(name || '').trim().split(/\s+/).filter(function (w) { return /\w/.test(w); });
    if (!parts.length) return '';
    var s = parts[0].charAt(0) + (parts.length > 1 ? parts[parts.length - 1].charAt(0) : '');
    return s.toUpperCase();
  }

  function mount(root, options) {
    options = options || {};
    var msg = Object.assign({}, MESSAGES, options.messages || {});
    var onPress = typeof options.onPress === 'function' ? options.onPress : function () {};
    var onTab = typeof options.onTab === 'function' ? options.onTab : function () {};
    // CRM row actions other than the comment (deal, invoice, lead, contact) are not card buttons:
    // CardService.press() rejects them, so they go to this optional hook instead of onPress.
    var onCrmAction = typeof options.onCrmAction === 'function' ? options.onCrmAction : function () {};

    var st = {
      view: null, tabs: [], popup: null, popupFresh: false, grade: null, dialed: '',
      draft: {comment: '', search: '', phone: ''}, editorWasOpen: false,
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
      st.popup = null; st.dialed = ''; st.editorWasOpen = false;
      st.draft = {comment: '', search: '', phone: ''};
    }

    // ---- render --------------------------------------------------------------------------------
    function render(view, tabs) {
      st.view = view || null;
      st.tabs = Array.isArray(tabs) ? tabs : [];
      if (!st.view) { teardown(); return; }
      if (!els) build();
      var v = st.view;
      var buttons = Array.isArray(v.buttons) ? v.buttons : [];
      if (st.popup && (v.folded || buttons.indexOf(popupAnchor(st.popup)) < 0)) st.popup = null;
      var comment = v.comment || {};
      if (comment.editorOpen && !st.editorWasOpen) st.draft.comment = comment.text || '';
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

    function popupAnchor(popup) {
      return popup === 'quality' ? 'qualityMeter' : popup;
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
        parts.push(renderHeader(v), renderStatus(v));
        var crm = renderCrmButtons(v);
        if (crm) parts.push(crm);
        if (v.comment && v.comment.editorOpen) parts.push(renderEditor());
        parts.push(renderActions(v));
        if (st.popup) parts.push(renderPopup(v));
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

    function renderHeader(v) {
      var dir = v.direction || 'incoming';
      var top = h('div', {class: 'cc-topbar'}, [
        h('span', {class: 'cc-dir cc-dir-' + dir, 'data-role': 'direction', 'data-direction': dir},
          [icon(dir), h('span', {text: t('dir_' + dir)})])
      ]);
      if ((v.buttons || []).indexOf('fold') >= 0) {
        var fold = h('button', {type: 'button', class: 'cc-fold', 'data-button': 'fold',
          title: t('fold'), 'aria-label': t('fold')}, [icon('fold'), h('span', {text: t('fold')})]);
        top.appendChild(fold);
      }
      var crm = v.crm || {};
      var name = crm.entityName || crm.name || '';
      var ring = (v.uiState === 'incoming' || v.uiState === 'transferIncoming') ? ' cc-ringing' : '';
      var avatarText = initials(name);
      var avatar = h('div', {class: 'cc-avatar' + ring, 'aria-hidden': 'true'},
        [avatarText ? h('span', {text: avatarText}) :
          icon(crm.entityType === 'COMPANY' ? 'company' : crm.entityType ? 'user' : 'phone')]);
      var title = h('h2', {class: 'cc-title', 'data-role': 'title', id: 'cc-title'});
      title.textContent = v.title || '';  // app-controlled: always text, never HTML
      return h('header', {class: 'cc-head'}, [top, h('div', {class: 'cc-identity'}, [
        avatar, title,
        h('div', {class: 'cc-number', 'data-role': 'phone', text: formatNumber(v.phoneNumber)}),
        renderLine(v),
        renderEntity(crm, name)
      ])]);
    }

    function formatNumber(n) {
      if (n === 'hidden') return t('hiddenNumber');
      if (!n || n === 'unknown') return t('unknownNumber');
      return n;
    }

    function renderLine(v) {
      var name = v.lineName || '', number = v.lineNumber || '';
      if (!name && !number) return null;
      var text = name && number && name !== number ? name + ' · ' + number : (name || number);
      return h('span', {class: 'cc-line', 'data-role': 'line', title: text}, [icon('line'),
        h('span', {text: text})]);
    }

    function renderEntity(crm, name) {
      var type = crm.entityType || '';
      if (!type || !crm.entityId) {
        return h('span', {class: 'cc-entity cc-entity-none', 'data-role': 'crm'}, [
          h('span', {class: 'cc-entity-type', text: t('notInCrm')})]);
      }
      var bindings = Array.isArray(crm.bindings) ? crm.bindings : [];
      var label = (msg['entity_' + type] || type) + ' #' + crm.entityId;
      return h('a', {class: 'cc-entity', 'data-role': 'crm', 'data-entity-type': type,
        'data-entity-id': crm.entityId, target: '_blank', rel: 'noopener',
        href: '/crm/' + encodeURIComponent(type.toLowerCase()) + '/details/' +
          encodeURIComponent(crm.entityId) + '/',
        title: bindings.map(function (b) { return b.ENTITY_TYPE + ' #' + b.ENTITY_ID; }).join(', ') || null
      }, [icon(type === 'COMPANY' ? 'company' : type === 'LEAD' ? 'lead' : 'user'),
        h('span', {class: 'cc-entity-type', text: label}),
        name ? h('span', {class: 'cc-entity-name', text: name}) : null]);
    }

    function renderStatus(v) {
      var status = h('p', {class: 'cc-status' + (v.statusText ? '' : ' cc-empty'), 'data-role': 'status',
        'aria-live': 'polite'});
      status.textContent = v.statusText || '';
      var timer = h('p', {class: 'cc-timer', 'data-role': 'timer', 'data-running':
        v.timer && v.timer.running ? 'true' : 'false'});
      if (!(v.timer && v.timer.shown)) timer.hidden = true;
      return h('section', {class: 'cc-statusblock'}, [status, timer]);
    }

    function renderCrmButtons(v) {
      var names = Array.isArray(v.crmButtons) ? v.crmButtons : [];
      if (!names.length) return null;
      var open = v.comment && v.comment.editorOpen;
      return h('div', {class: 'cc-crmbar', role: 'group'}, names.map(function (name) {
        var isComment = name === 'addComment';
        return h('button', {type: 'button', class: 'cc-chip' + (isComment && open ? ' cc-chip-active' : ''),
          'data-crm-button': name, 'data-button': isComment ? (open ? null : 'commentOpen') : null,
          disabled: isComment && open, 'aria-pressed': isComment ? String(!!open) : null},
        [icon(CRM_ICONS[name] || 'generic'), h('span', {text: isComment && open ? t('commentEditing') : t(name)})]);
      }));
    }

    function renderEditor() {
      var area = h('textarea', {class: 'cc-textarea', 'data-role': 'comment', 'data-focus': 'comment',
        rows: 3, placeholder: t('commentPlaceholder'), 'aria-label': t('commentTitle')});
      area.value = st.draft.comment;
      return h('section', {class: 'cc-editor'}, [area, h('div', {class: 'cc-editor-foot'}, [
        h('span', {class: 'cc-hint', text: t('commentHint')}),
        h('button', {type: 'button', class: 'cc-btn-text cc-btn-save', 'data-button': 'commentSave'},
          [icon('check'), h('span', {text: t('commentSave')})])
      ])]);
    }

    function actionButton(name, v, compact) {
      var spec = BUTTONS[name] || ['generic', 'neutral'];
      var iconName = name === 'mute' && v.muted ? 'micOff' : spec[0];
      var attrs = {type: 'button', class: 'cc-btn cc-tone-' + spec[1] + (compact ? ' cc-btn-compact' : ''),
        'data-button': name, 'aria-label': t(name)};
      if (name === 'mute') attrs['aria-pressed'] = String(!!v.muted);
      if (name === 'hold') attrs['aria-pressed'] = String(!!v.held);
      if (POPUP_FOR[name]) {
        attrs['aria-haspopup'] = 'dialog';
        attrs['aria-expanded'] = String(st.popup === POPUP_FOR[name]);
      }
      return h('button', attrs, [h('span', {class: 'cc-btn-disc'}, [icon(iconName)]),
        h('span', {class: 'cc-btn-label', text: t(name)})]);
    }

    function renderActions(v) {
      var names = (v.buttons || []).filter(function (n) { return n !== 'fold'; });
      if (v.layout === 'spaced') {
        var left = names.filter(function (n) { return !RIGHT_SIDE[n]; });
        var right = names.filter(function (n) { return RIGHT_SIDE[n]; });
        return h('footer', {class: 'cc-actions cc-actions-spaced', 'data-layout': 'spaced'}, [
          h('div', {class: 'cc-actions-left'}, left.map(function (n) { return actionButton(n, v, true); })),
          h('div', {class: 'cc-actions-right'}, right.map(function (n) { return actionButton(n, v); }))
        ]);
      }
      return h('footer', {class: 'cc-actions', 'data-layout': 'default'},
        names.map(function (n) { return actionButton(n, v); }));
    }

    // ---- popups --------------------------------------------------------------------------------
    function renderPopup(v) {
      var kind = st.popup, body, title;
      if (kind === 'dialpad') { title = t('dialpad'); body = renderDialpad(); }
      else if (kind === 'quality') { title = t('qualityTitle'); body = renderQuality(); }
      else { title = t('transferTitle'); body = renderTransfer(v); }
      // animate only when the popup opens, not on every server-driven re-render
      var enter = st.popupFresh ? ' cc-enter' : '';
      st.popupFresh = false;
      return h('div', {class: 'cc-popover cc-popover-' + kind + enter, role: 'dialog', 'data-role': 'popup',
        'data-popup': kind, 'aria-label': title}, [
        h('div', {class: 'cc-popover-head'}, [h('span', {class: 'cc-popover-title', text: title}),
          h('button', {type: 'button', class: 'cc-popover-close', 'data-action': 'popup-close',
            'aria-label': t('popupClose')}, [icon('close')])]),
        body]);
    }

    function renderDialpad() {
      var display = h('div', {class: 'cc-dialed', 'data-role': 'dialed', 'aria-live': 'polite'});
      display.textContent = st.dialed;
      return h('div', {class: 'cc-dialpad'}, [display, h('div', {class: 'cc-keys'}, KEYS.map(function (k) {
        return h('button', {type: 'button', class: 'cc-key', 'data-button': 'dialpad-' + k[0],
          'aria-label': k[0]}, [h('span', {class: 'cc-key-main', text: k[0]}),
          h('span', {class: 'cc-key-sub', text: k[1] || '\u00a0'})]);
      }))]);
    }

    function renderQuality() {
      var stars = [];
      for (var i = 1; i <= 5; i++) {
        var on = st.grade !== null && i <= st.grade;
        stars.push(h('button', {type: 'button', class: 'cc-star' + (on ? ' cc-star-on' : ''),
          'data-button': 'quality-' + i, 'aria-label': t('qualityStar', {N: i})}, [icon('star')]));
      }
      return h('div', {class: 'cc-stars', role: 'group'}, stars);
    }

    function renderTransfer(v) {
      var q = st.draft.search.trim().toLowerCase();
      var targets = (Array.isArray(v.transferTargets) ? v.transferTargets : []).filter(function (u) {
        return !q || String(u.name || '').toLowerCase().indexOf(q) >= 0 || String(u.id) === q;
      });
      var search = h('input', {type: 'search', class: 'cc-input', 'data-role': 'transfer-search',
        'data-focus': 'transfer-search', placeholder: t('transferSearch'), 'aria-label': t('transferSearch')});
      search.value = st.draft.search;
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
      phone.value = st.draft.phone;
      return h('div', {class: 'cc-transfer'}, [
        h('label', {class: 'cc-search'}, [icon('search'), search]), list,
        h('div', {class: 'cc-phone-row'}, [phone, h('button', {type: 'button', class: 'cc-btn-text',
          'data-button': 'transfer-pstn'}, [icon('phone'), h('span', {text: t('transferPhoneGo')})])])
      ]);
    }

    // ---- tabs (CALL_CARD apps) and the folded mini panel --------------------------------------
    function renderTabs() {
      morph(els.tabStrip, st.tabs.map(function (tab) {
        return h('button', {type: 'button', role: 'tab', class: 'cc-tab' +
          (tab.active ? ' cc-tab-active' : ''), 'data-tab': tab.id, 'aria-selected': String(!!tab.active),
          text: tab.title || String(tab.id)});
      }));
    }

    function renderMini() {
      var v = st.view;
      if (!v.folded) { morph(els.mini, []); return; }
      var parts = [];
      var title = h('span', {class: 'cc-mini-title', 'data-role': 'title'});
      title.textContent = v.title || formatNumber(v.phoneNumber);
      var timer = h('span', {class: 'cc-mini-timer', 'data-role': 'timer'});
      if (!(v.timer && v.timer.shown)) timer.hidden = true;
      els.mini.setAttribute('aria-label', v.title || '');
      parts.push(h('span', {class: 'cc-mini-dot' + (v.timer && v.timer.running ? ' cc-live' : '')}));
      parts.push(h('div', {class: 'cc-mini-info'}, [title, timer]));
      (v.buttons || []).forEach(function (n) {
        if (!RIGHT_SIDE[n]) return;  // the mini panel shows only hangup and close
        parts.push(h('button', {type: 'button', class: 'cc-mini-btn cc-tone-' + BUTTONS[n][1],
          'data-button': n, 'aria-label': t(n), title: t(n)}, [icon(BUTTONS[n][0])]));
      });
      parts.push(h('button', {type: 'button', class: 'cc-mini-btn cc-mini-expand',
        'data-button': 'fold', 'aria-label': t('expand'), title: t('expand')}, [icon('expand')]));
      morph(els.mini, parts);
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
    function setPopup(kind) {
      st.popup = kind;
      st.popupFresh = !!kind;
      if (kind === 'dialpad') st.dialed = '';
      if (kind === 'transfer') { st.draft.search = ''; st.draft.phone = ''; }
      renderMain(false);
      syncTimer();
      if (kind === 'transfer') {
        var s = els.main.querySelector('[data-focus="transfer-search"]');
        if (s) s.focus();
      }
    }

    function pickTarget(u) {
      var v = st.view;
      setPopup(null);
      press('transfer', {target: u.id, phoneNumber: v.phoneNumber});
    }

    function onClick(e) {
      var v = st.view;
      if (!v) return;
      var el = e.target.closest('[data-button],[data-tab],[data-action],[data-crm-button]');
      if (!el || !els.card.contains(el)) {
        // a click on the card's blank area dismisses an open popup
        if (st.popup && !e.target.closest('.cc-popover')) setPopup(null);
        return;
      }
      if (el.disabled) return;
      if (el.hasAttribute('data-tab')) { onTab(el.getAttribute('data-tab')); return; }
      if (el.getAttribute('data-action') === 'popup-close') { setPopup(null); return; }
      var name = el.getAttribute('data-button');
      if (!name) { onCrmAction(el.getAttribute('data-crm-button'), v); return; }
      var m;
      if ((m = /^dialpad-(.)$/.exec(name))) { dial(m[1]); return; }
      if ((m = /^quality-([1-5])$/.exec(name))) {
        st.grade = Number(m[1]);
        setPopup(null);
        press('qualityMeter', m[1]);
        return;
      }
      if (/^transfer-target-/.test(name)) {
        var u = (v.transferTargets || [])[Number(el.getAttribute('data-index'))];
        if (u) pickTarget(u);
        return;
      }
      if (name === 'transfer-pstn') { submitPhone(); return; }
      if (POPUP_FOR[name]) { setPopup(st.popup === POPUP_FOR[name] ? null : POPUP_FOR[name]); return; }
      if (name === 'commentSave') { press('commentSave', st.draft.comment); return; }
      if (st.popup) setPopup(null);
      press(name);
    }

    function dial(key) {
      st.dialed = (st.dialed + key).slice(-24);
      var d = els.main.querySelector('[data-role="dialed"]');
      if (d) d.textContent = st.dialed;
      press('dialpad', key);
    }

    function submitPhone() {
      var phone = st.draft.phone.trim();
      var input = els.main.querySelector('[data-role="transfer-phone"]');
      if (!phone) {
        if (input) { input.classList.add('cc-invalid'); input.focus(); }
        return;
      }
      st.draft.phone = '';
      pickTarget({id: phone});
    }

    function onInput(e) {
      var role = e.target.getAttribute('data-role');
      if (role === 'comment') st.draft.comment = e.target.value;
      else if (role === 'transfer-phone') { st.draft.phone = e.target.value; e.target.classList.remove('cc-invalid'); }
      else if (role === 'transfer-search') { st.draft.search = e.target.value; renderMain(false); }
    }

    function onFieldKey(e) {
      var role = e.target.getAttribute && e.target.getAttribute('data-role');
      if (role === 'comment' && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        press('commentSave', st.draft.comment);
      } else if (role === 'transfer-phone' && e.key === 'Enter') {
        e.preventDefault();
        submitPhone();
      } else if (role === 'transfer-search' && e.key === 'Enter') {
        e.preventDefault();
        var first = els.main.querySelector('.cc-target');
        if (first) first.click();
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
        if (st.popup) { e.preventDefault(); setPopup(null); return; }
        if (inField) return;  // never close the card while the operator is typing
        if (v.closable && !v.folded) { e.preventDefault(); press('close'); }
        return;
      }
      if (st.popup === 'dialpad' && !inField && !e.ctrlKey && !e.metaKey && !e.altKey &&
          /^[0-9*#]$/.test(e.key)) {
        e.preventDefault();
        var key = els.main.querySelector('[data-button="dialpad-' + e.key + '"]');
        if (key) { key.classList.add('cc-key-flash'); setTimeout(function () { key.classList.remove('cc-key-flash'); }, 120); }
        dial(e.key);
      }
    }

    function onDocClick(e) {
      // A click anywhere outside the card dismisses an open popup. The path is taken at dispatch
      // time: the clicked node may already be detached by a re-render of the card.
      if (st.popup && els && e.composedPath().indexOf(els.card) < 0) setPopup(null);
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
