/*
 * callcard host pickers: the page's answers to selectUser, selectAccess and selectCRM
 * (wire-protocol.md §8). A selection is handed to `done(selection)`; a cancelled dialog calls
 * `done(undefined)`, and the bridge then sends no reply (team choice, as the platform's dialogs call back
 * only on a selection).
 *
 *   var select = CallcardDialogs.create(boot, el).select;   // select(kind, params, done)
 */
(function (global) {
  'use strict';
  var doc = global.document;

  function create(boot, el) {
    function pickerDialog(title, items, multiple, done) {
      var chosen = new Set();
      var list = el('ul', { class: 'pp-picker__list' });
      items.forEach(function (item, i) {
        var btn = el('button', { type: 'button', class: 'pp-picker__item', 'data-pick': String(item.key),
                                 text: item.label });
        btn.addEventListener('click', function () {
          if (!multiple) { finish([i]); return; }
          if (chosen.has(i)) { chosen.delete(i); btn.classList.remove('is-chosen'); }
          else { chosen.add(i); btn.classList.add('is-chosen'); }
        });
        list.appendChild(el('li', {}, [btn]));
      });
      var ok = el('button', { type: 'button', class: 'pp-btn pp-btn--primary', 'data-pick': 'ok', text: 'Select' });
      var cancel = el('button', { type: 'button', class: 'pp-btn', 'data-pick': 'cancel', text: 'Cancel' });
      var node = el('div', { class: 'pp-modal', 'data-role': 'picker' }, [
        el('div', { class: 'pp-modal__box', role: 'dialog', 'aria-label': title }, [
          el('h2', { text: title }), list,
          el('div', { class: 'pp-modal__actions' }, [multiple ? ok : null, cancel])])
      ]);
      var settled = false;
      function finish(indexes) {
        if (settled) return;
        settled = true;
        node.remove();
        done(indexes === null ? undefined : indexes.map(function (i) { return items[i]; }));
      }
      // in list order (a plain sort() would compare the positions as text: 10 before 2)
      ok.addEventListener('click', function () {
        finish(Array.from(chosen).sort(function (a, b) { return a - b; }));
      });
      cancel.addEventListener('click', function () { finish(null); });
      doc.body.appendChild(node);
    }

    function userItem(u) {
      return { id: String(u.id), name: u.name, photo: '', position: u.position || '',
               url: '/company/personal/user/' + u.id + '/', sub: false, supervisor: false };
    }

    var CRM_PREFIX = { lead: 'L', contact: 'C', company: 'CO', deal: 'D', quote: 'Q' };

    function select(kind, params, done) {
      if (kind === 'selectUser') {
        var users = (boot.users || []).map(function (u) { return { key: u.id, label: u.name, user: u }; });
        pickerDialog(params.title || 'Select a user', users, !!params.mult, function (picked) {
          if (!picked) { done(undefined); return; }
          var sel = picked.map(function (p) { return userItem(p.user); });
          done(params.mult ? sel : sel[0]);
        });
      } else if (kind === 'selectAccess') {
        var access = [{ key: 'AU', label: 'All users', item: { id: 'AU', name: 'All users' } }].concat(
          (boot.users || []).map(function (u) {
            return { key: 'U' + u.id, label: u.name, item: { id: 'U' + u.id, name: u.name } };
          }));
        pickerDialog('Select access', access, true, function (picked) {
          done(picked ? picked.map(function (p) { return p.item; }) : undefined);
        });
      } else if (kind === 'selectCRM') {
        var types = Array.isArray(params.entityType) ? params.entityType :
          (typeof params.entityType === 'string' ? [params.entityType] : ['lead', 'contact', 'company']);
        var items = (boot.crmChoices || []).filter(function (c) { return types.indexOf(c.type) >= 0; })
          .map(function (c) {
            return { key: CRM_PREFIX[c.type] + '_' + c.id, label: c.title, entity: c };
          });
        pickerDialog('Select CRM items', items, !!params.multiple, function (picked) {
          if (!picked) { done(undefined); return; }
          var result = {};
          types.forEach(function (t) { result[t] = {}; });
          picked.forEach(function (p) {
            var c = p.entity;
            var bucket = result[c.type];
            // buckets are objects keyed "0".."n", not arrays (wire-protocol.md §8)
            bucket[String(Object.keys(bucket).length)] = {
              id: CRM_PREFIX[c.type] + '_' + c.id, type: c.type, place: c.type, title: c.title, desc: '',
              url: '/crm/' + c.type + '/details/' + c.id + '/'
            };
          });
          done(result);
        });
      }
    }


    return { select: select, pickerDialog: pickerDialog };
  }

  global.CallcardDialogs = { create: create };
})(window);
