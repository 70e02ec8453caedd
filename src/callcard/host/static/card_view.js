/*
 * callcard card UI, the card's sections: header (direction, fold, avatar, title, number, line, CRM
 * entity), status and timer line, CRM action bar, comment editor, action buttons, the CALL_CARD tab strip
 * and the folded mini panel. Each builder takes the view and returns fresh nodes; card.js morphs them in.
 *
 * Registers CallcardParts.cardView = {create(t, msg), initials, POPUP_FOR} (uses CallcardParts.dom).
 * Test hooks (stable): [data-button], [data-role], [data-tab], [data-crm-button].
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var h = ns.dom.h;
  var icon = ns.dom.icon;

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
  var RIGHT_SIDE = {hangup: 1, close: 1};

  function initials(name) {
    var parts = String(name || '').trim().split(/\s+/).filter(function (w) { return /\w/.test(w); });
    if (!parts.length) return '';
    var s = parts[0].charAt(0) + (parts.length > 1 ? parts[parts.length - 1].charAt(0) : '');
    return s.toUpperCase();
  }

  /** Section builders for one mounted card: `t(key, vars)` translates, `msg` is the merged message table. */
  function create(t, msg) {
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

    /** The comment editor; `text` is the operator's draft (kept across re-renders by card.js). */
    function renderEditor(text) {
      var area = h('textarea', {class: 'cc-textarea', 'data-role': 'comment', 'data-focus': 'comment',
        rows: 3, placeholder: t('commentPlaceholder'), 'aria-label': t('commentTitle')});
      area.value = text;
      return h('section', {class: 'cc-editor'}, [area, h('div', {class: 'cc-editor-foot'}, [
        h('span', {class: 'cc-hint', text: t('commentHint')}),
        h('button', {type: 'button', class: 'cc-btn-text cc-btn-save', 'data-button': 'commentSave'},
          [icon('check'), h('span', {text: t('commentSave')})])
      ])]);
    }

    function actionButton(name, v, popup, compact) {
      var spec = BUTTONS[name] || ['generic', 'neutral'];
      var iconName = name === 'mute' && v.muted ? 'micOff' : spec[0];
      var attrs = {type: 'button', class: 'cc-btn cc-tone-' + spec[1] + (compact ? ' cc-btn-compact' : ''),
        'data-button': name, 'aria-label': t(name)};
      if (name === 'mute') attrs['aria-pressed'] = String(!!v.muted);
      if (name === 'hold') attrs['aria-pressed'] = String(!!v.held);
      if (POPUP_FOR[name]) {
        attrs['aria-haspopup'] = 'dialog';
        attrs['aria-expanded'] = String(popup === POPUP_FOR[name]);
      }
      return h('button', attrs, [h('span', {class: 'cc-btn-disc'}, [icon(iconName)]),
        h('span', {class: 'cc-btn-label', text: t(name)})]);
    }

    /** The action row; `popup` is the open popup's kind (null = none), for aria-expanded. */
    function renderActions(v, popup) {
      var names = (v.buttons || []).filter(function (n) { return n !== 'fold'; });
      if (v.layout === 'spaced') {
        var left = names.filter(function (n) { return !RIGHT_SIDE[n]; });
        var right = names.filter(function (n) { return RIGHT_SIDE[n]; });
        return h('footer', {class: 'cc-actions cc-actions-spaced', 'data-layout': 'spaced'}, [
          h('div', {class: 'cc-actions-left'}, left.map(function (n) { return actionButton(n, v, popup, true); })),
          h('div', {class: 'cc-actions-right'}, right.map(function (n) { return actionButton(n, v, popup); }))
        ]);
      }
      return h('footer', {class: 'cc-actions', 'data-layout': 'default'},
        names.map(function (n) { return actionButton(n, v, popup); }));
    }

    function renderTabs(tabs) {
      return tabs.map(function (tab) {
        return h('button', {type: 'button', role: 'tab', class: 'cc-tab' +
          (tab.active ? ' cc-tab-active' : ''), 'data-tab': tab.id, 'aria-selected': String(!!tab.active),
          text: tab.title || String(tab.id)});
      });
    }

    /** The folded card's panel: live dot, title and timer, hangup/close, expand. */
    function renderMini(v) {
      var parts = [];
      var title = h('span', {class: 'cc-mini-title', 'data-role': 'title'});
      title.textContent = v.title || formatNumber(v.phoneNumber);
      var timer = h('span', {class: 'cc-mini-timer', 'data-role': 'timer'});
      if (!(v.timer && v.timer.shown)) timer.hidden = true;
      parts.push(h('span', {class: 'cc-mini-dot' + (v.timer && v.timer.running ? ' cc-live' : '')}));
      parts.push(h('div', {class: 'cc-mini-info'}, [title, timer]));
      (v.buttons || []).forEach(function (n) {
        if (!RIGHT_SIDE[n]) return;  // the mini panel shows only hangup and close
        parts.push(h('button', {type: 'button', class: 'cc-mini-btn cc-tone-' + BUTTONS[n][1],
          'data-button': n, 'aria-label': t(n), title: t(n)}, [icon(BUTTONS[n][0])]));
      });
      parts.push(h('button', {type: 'button', class: 'cc-mini-btn cc-mini-expand',
        'data-button': 'fold', 'aria-label': t('expand'), title: t('expand')}, [icon('expand')]));
      return parts;
    }

    return {
      header: renderHeader, status: renderStatus, crmButtons: renderCrmButtons, editor: renderEditor,
      actions: renderActions, tabs: renderTabs, mini: renderMini
    };
  }

  ns.cardView = {create: create, initials: initials, POPUP_FOR: POPUP_FOR};
})(window);
