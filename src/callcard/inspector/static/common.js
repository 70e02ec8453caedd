/*
 * callcard inspector — shared helpers: DOM building, the JSON tree, time formatting and the live feed
 * (an EventSource over /inspector/api/stream that survives the server's periodic stream rotation).
 */
(function (global) {
  'use strict';

  var CI = {};

  CI.boot = function () {
    var tag = document.getElementById('inspector-boot');
    return tag ? JSON.parse(tag.textContent) : {};
  };

  /** el('div', {class: 'x', 'data-a': 1, onclick: fn}, [children or text]) */
  CI.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key.slice(0, 2) === 'on' && typeof value === 'function') node.addEventListener(key.slice(2), value);
        else if (key === 'text') node.textContent = value;
        else node.setAttribute(key, value === true ? '' : String(value));
      });
    }
    (Array.isArray(children) ? children : children === undefined ? [] : [children]).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  };

  CI.qs = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === null || value === undefined || value === '') return;
      parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(value));
    });
    return parts.length ? '?' + parts.join('&') : '';
  };

  CI.getJSON = function (url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (resp) {
      if (!resp.ok) throw new Error(url + ' answered ' + resp.status);
      return resp.json();
    });
  };

  function pad(n, width) { n = String(n); while (n.length < width) n = '0' + n; return n; }

  /** HH:MM:SS.mmm of an epoch-seconds timestamp, local time. */
  CI.time = function (at) {
    if (typeof at !== 'number') return '';
    var d = new Date(at * 1000);
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' +
      pad(d.getMilliseconds(), 3);
  };

  CI.copy = function (text, button) {
    var done = function () {
      if (!button) return;
      var old = button.textContent;
      button.textContent = 'copied';
      setTimeout(function () { button.textContent = old; }, 900);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = CI.el('textarea', {}, text);
      document.body.appendChild(area); area.select();
      try { document.execCommand('copy'); } catch (e) { /* nothing to do */ }
      area.remove(); done();
    }
  };

  // -- JSON tree --------------------------------------------------------------------------------------

  function scalar(value) {
    if (value === null || value === undefined) return CI.el('span', { class: 'j-null' }, 'null');
    if (typeof value === 'string') return CI.el('span', { class: 'j-str' }, JSON.stringify(value));
    if (typeof value === 'number') return CI.el('span', { class: 'j-num' }, String(value));
    if (typeof value === 'boolean') return CI.el('span', { class: 'j-bool' }, String(value));
    return CI.el('span', {}, String(value));
  }

  function node(key, value, depth, open) {
    var li = CI.el('li');
    if (key !== null) li.appendChild(CI.el('span', { class: 'j-key' }, key + ': '));
    if (value === null || typeof value !== 'object') {
      li.appendChild(scalar(value));
      return li;
    }
    var isArray = Array.isArray(value);
    var keys = isArray ? value.map(function (_, i) { return i; }) : Object.keys(value);
    var summary = isArray ? 'Array(' + keys.length + ')' : '{' + keys.slice(0, 4).join(', ') +
      (keys.length > 4 ? ', …' : '') + '}';
    if (!keys.length) {
      li.appendChild(CI.el('span', { class: 'j-sum' }, isArray ? '[]' : '{}'));
      return li;
    }
    var toggle = CI.el('span', { class: 'j-toggle' }, '▾');
    var sum = CI.el('span', { class: 'j-sum' }, summary);
    var list = null;
    var build = function () {
      if (list) return;
      list = CI.el('ul');
      keys.forEach(function (k) { list.appendChild(node(String(k), value[k], depth + 1, open)); });
      li.appendChild(list);
    };
    var flip = function (event) {
      event.stopPropagation();
      var collapsed = li.classList.toggle('is-collapsed');
      if (!collapsed) build();
      toggle.textContent = collapsed ? '▸' : '▾';
    };
    toggle.addEventListener('click', flip);
    sum.addEventListener('click', flip);
    li.insertBefore(toggle, li.firstChild);
    li.appendChild(sum);
    if (depth < open) build();
    else { li.classList.add('is-collapsed'); toggle.textContent = '▸'; }
    return li;
  }

  /** A collapsible tree of ``value``; levels below ``open`` (default 2) start collapsed and build lazily. */
  CI.jsonTree = function (value, open) {
    var root = CI.el('div', { class: 'ci-json' });
    var ul = CI.el('ul', { style: 'padding-left:12px' });
    ul.appendChild(node(null, value, 0, open === undefined ? 2 : open));
    root.appendChild(ul);
    return root;
  };

  // -- the live feed ------------------------------------------------------------------------------------

  /**
   * Follow /inspector/api/stream with ``params``. The server ends each stream after a few seconds (so a
   * server shutdown is never held up) and the EventSource reconnects with Last-Event-ID, missing nothing.
   * handlers: entry(entry), status('live' | 'down'), hello(info)
   */
  CI.Feed = function (params, handlers) {
    this.params = params;
    this.handlers = handlers;
    this.source = null;
    this.expectedEnd = false;
    this.downTimer = null;
  };

  CI.Feed.prototype.open = function (since) {
    this.close();
    var self = this;
    var query = Object.assign({}, this.params, { since: since || 0 });
    var source = new EventSource('/inspector/api/stream' + CI.qs(query));
    this.source = source;
    source.addEventListener('hello', function (ev) {
      self.expectedEnd = false;
      self._status('live');
      if (self.handlers.hello) self.handlers.hello(JSON.parse(ev.data));
    });
    source.addEventListener('entry', function (ev) {
      self.lastSeq = Number(ev.lastEventId) || self.lastSeq;
      self.handlers.entry(JSON.parse(ev.data));
    });
    source.addEventListener('bye', function () { self.expectedEnd = true; });
    source.onerror = function () {
      if (self.source !== source) return;
      if (self.expectedEnd) return; // the server's rotation: the browser reconnects by itself
      // a real outage: say so if the reconnect does not succeed quickly
      clearTimeout(self.downTimer);
      self.downTimer = setTimeout(function () {
        if (self.source === source && source.readyState !== EventSource.OPEN) self._status('down');
      }, 1500);
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { if (self.source === source) self.open(self.lastSeq || since); }, 2000);
      }
    };
  };

  CI.Feed.prototype._status = function (status) {
    clearTimeout(this.downTimer);
    if (this.handlers.status) this.handlers.status(status);
  };

  CI.Feed.prototype.close = function () {
    if (this.source) { this.source.close(); this.source = null; }
    clearTimeout(this.downTimer);
  };

  global.CI = CI;
})(window);
