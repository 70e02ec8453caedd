/*
 * BX24: a classic Bitrix24 JS library for app frames, served by callcard at /api/v1/.
 *
 * An independent implementation of the legacy library's public API and wire behaviour
 * (shared/spec/clients.md §2, wire-protocol.md): it reads DOMAIN|PROTOCOL|APP_SID from window.name,
 * sends 4-segment `command:params:callbackId:appSid` strings to the parent with the portal's origin,
 * uses 32-character [0-9a-z] callback ids and keeps every callback forever (so bound events keep
 * arriving), passes `[]` for an empty payload, and calls REST with a hand-built urlencoded body sent
 * without a Content-Type, `auth` first, refreshing the token on `expired_token`.
 */
(function (global) {
  'use strict';

  var CHARS = '0123456789abcdefghijklmnopqrstuvwxyz';
  var PARAMS = {
    DOMAIN: '', PROTOCOL: 0, APP_SID: '', PATH: '', LANG: '', AUTH_ID: '', REFRESH_ID: '', MEMBER_ID: '',
    AUTH_EXPIRES: 0, IS_ADMIN: false, INSTALL: false, FIRST_RUN: false, USER_OPTIONS: null,
    APP_OPTIONS: null, PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: {}
  };

  (function readName() {
    var parts = String(global.name || '').split('|');
    if (parts.length >= 3 && parts[0] && parts[2]) {
      PARAMS.DOMAIN = parts[0].replace(/:(80|443)$/, '');
      PARAMS.PROTOCOL = parseInt(parts[1], 10) || 0;
      PARAMS.APP_SID = parts[2];
    }
  })();

  if (!PARAMS.DOMAIN || !PARAMS.APP_SID) {
    global.BX24 = null;
    throw new Error('Unable to initialize Bitrix24 JS library!');
  }

  var BX24 = {};
  global.BX24 = BX24;

  var isInit = false;
  var isReady = false;
  var initList = [];
  var installList = [];
  var readyList = [];
  var callbacks = {};

  // -- utilities ---------------------------------------------------------------------------------------

  function isFunction(v) { return typeof v === 'function'; }
  function isArray(v) { return Object.prototype.toString.call(v) === '[object Array]'; }
  function isString(v) { return typeof v === 'string'; }
  function blank() {}
  function defer(fn) {
    return function () {
      var args = arguments;
      var self = this;
      setTimeout(function () { fn.apply(self, args); }, 10);
    };
  }
  function uniqid() {
    var s = '';
    for (var i = 0; i < 32; i++) s += CHARS.charAt(Math.floor(Math.random() * CHARS.length));
    return s;
  }
  function origin() { return 'http' + (PARAMS.PROTOCOL ? 's' : '') + '://' + PARAMS.DOMAIN; }

  // -- the wire ----------------------------------------------------------------------------------------

  function sendMessage(command, params, cb) {
    if (isFunction(params)) { cb = params; params = null; }
    var id = '';
    if (isFunction(cb)) {
      id = uniqid();
      callbacks[id] = cb; // kept forever: events bound with this id keep arriving
    }
    var text = command + ':' + (params ? JSON.stringify(params) : '') + ':' + id + ':' + PARAMS.APP_SID;
    global.parent.postMessage(text, origin());
  }

  function onMessage(e) {
    if (e.origin !== origin() || typeof e.data !== 'string' || !e.data) return;
    var at = e.data.indexOf(':');
    var id = at < 0 ? e.data : e.data.slice(0, at);
    var rest = at < 0 ? '' : e.data.slice(at + 1);
    var cb = callbacks[id];
    if (!cb) return;
    var args = [];
    if (rest) {
      try { args = JSON.parse(rest); } catch (err) { return; }
    }
    cb.call(global, args);
  }

  global.addEventListener('message', onMessage, false);

  // -- init, install, ready ----------------------------------------------------------------------------

  function applyInit(data) {
    PARAMS.LANG = data.LANG;
    PARAMS.PATH = data.PATH;
    PARAMS.PROTOCOL = data.PROTOCOL;
    PARAMS.DOMAIN = String(data.DOMAIN || PARAMS.DOMAIN).replace(/:(80|443)$/, '');
    PARAMS.AUTH_ID = data.AUTH_ID;
    PARAMS.REFRESH_ID = data.REFRESH_ID;
    PARAMS.AUTH_EXPIRES = Date.now() + Number(data.AUTH_EXPIRES) * 1000;
    PARAMS.MEMBER_ID = data.MEMBER_ID || '';
    PARAMS.IS_ADMIN = !!data.IS_ADMIN;
    PARAMS.INSTALL = !!data.INSTALL;
    PARAMS.FIRST_RUN = !!data.FIRST_RUN;
    PARAMS.USER_OPTIONS = data.USER_OPTIONS || {};
    PARAMS.APP_OPTIONS = data.APP_OPTIONS || {};
    PARAMS.PLACEMENT = data.PLACEMENT || 'DEFAULT';
    PARAMS.PLACEMENT_OPTIONS = data.PLACEMENT_OPTIONS || {};
  }

  function runInit() {
    isInit = true;
    BX24.init = function (fn) { if (isFunction(fn)) defer(fn).call(global.document); };
    if (!PARAMS.INSTALL) BX24.installFinish = blank;
    var list = initList;
    initList = [];
    for (var i = 0; i < list.length; i++) BX24.init(list[i]);
  }

  function runInstallers(done) {
    var installer = installList.shift();
    if (!installer) {
      BX24.installFinish = blank;
      sendMessage('setInstall', { install: true });
      defer(done).call(global.document);
      return;
    }
    BX24.installFinish = function () { runInstallers(done); };
    try {
      installer.call(global.document);
    } catch (err) {
      if (global.console) global.console.error('Installation failed!', err);
    }
  }

  sendMessage('getInitData', function (data) {
    applyInit(data);
    if (PARAMS.FIRST_RUN && installList.length > 0) runInstallers(runInit);
    else runInit();
  });

  function runReady() {
    if (isReady) return;
    if (!global.document.body) { setTimeout(runReady, 15); return; }
    isReady = true;
    BX24.ready = function (fn) { if (isFunction(fn)) defer(fn).call(global.document); };
    var list = readyList;
    readyList = [];
    for (var i = 0; i < list.length; i++) BX24.ready(list[i]);
  }
  if (global.document.readyState === 'complete' || global.document.readyState === 'interactive') {
    setTimeout(runReady, 0);
  } else {
    global.document.addEventListener('DOMContentLoaded', runReady, false);
    global.addEventListener('load', runReady, false);
  }

  // -- public API ------------------------------------------------------------------------------------------

  BX24.init = function (fn) { if (isFunction(fn)) initList.push(fn); };
  BX24.ready = function (fn) { if (isFunction(fn)) readyList.push(fn); };
  BX24.isReady = function () { return isReady; };
  BX24.install = function (fn) { if (fn) installList.push(fn); };
  BX24.installFinish = function (value) {
    sendMessage('setInstallFinish', value === undefined ? {} : { value: value });
  };

  BX24.isAdmin = function () { return !!PARAMS.IS_ADMIN; };
  BX24.getLang = function () { return PARAMS.LANG; };
  BX24.getDomain = function () { return PARAMS.DOMAIN; };
  BX24.getAuth = function () {
    return (isInit && PARAMS.AUTH_EXPIRES > Date.now()) ? {
      access_token: PARAMS.AUTH_ID, refresh_token: PARAMS.REFRESH_ID, expires_in: PARAMS.AUTH_EXPIRES,
      domain: PARAMS.DOMAIN, member_id: PARAMS.MEMBER_ID
    } : false;
  };
  BX24.refreshAuth = function (cb) {
    if (!isInit) return; // before getInitData's reply the legacy library ignores it silently
    sendMessage('refreshAuth', {}, function (p) {
      PARAMS.AUTH_ID = p.AUTH_ID;
      PARAMS.REFRESH_ID = p.REFRESH_ID;
      PARAMS.AUTH_EXPIRES = Date.now() + Number(p.AUTH_EXPIRES) * 1000;
      if (isFunction(cb)) cb(BX24.getAuth());
    });
  };

  BX24.resizeWindow = function (width, height, cb) {
    width = parseInt(width, 10);
    height = parseInt(height, 10);
    if (width > 0 && height > 0) sendMessage('resizeWindow', { width: width, height: height }, cb);
  };
  BX24.getScrollSize = function () {
    var d = global.document.documentElement;
    return { scrollWidth: Math.max(d.scrollWidth, d.offsetWidth), scrollHeight: Math.max(d.scrollHeight, d.offsetHeight) };
  };
  BX24.fitWindow = function (cb) {
    sendMessage('resizeWindow', { width: '100%', height: BX24.getScrollSize().scrollHeight }, cb);
  };
  BX24.reloadWindow = function (cb) { sendMessage('reloadWindow', {}, cb); };
  BX24.setTitle = function (title, cb) { sendMessage('setTitle', { title: String(title) }, cb); };
  BX24.scrollParentWindow = function (scroll, cb) {
    scroll = parseInt(scroll, 10);
    if (!isNaN(scroll)) sendMessage('setScroll', { scroll: scroll }, cb);
  };

  BX24.openApplication = function (params, cb) {
    if (isFunction(params)) { cb = params; params = {}; }
    sendMessage('openApplication', params || {}, cb);
  };
  BX24.closeApplication = function (cb) { sendMessage('closeApplication', {}, cb); };
  BX24.openPath = function (path, cb) { sendMessage('openPath', { path: path }, cb); };

  BX24.selectUser = function (title, cb) {
    if (isFunction(title)) { cb = title; title = ''; }
    sendMessage('selectUser', { title: title || '', mult: false }, cb);
  };
  BX24.selectUsers = function (title, cb) {
    if (isFunction(title)) { cb = title; title = ''; }
    sendMessage('selectUser', { title: title || '', mult: true }, cb);
  };
  BX24.selectAccess = function (title, value, cb) {
    if (!isString(title)) { cb = value; value = title; }
    if (isFunction(value)) { cb = value; value = []; }
    sendMessage('selectAccess', { value: value || [] }, cb);
  };
  BX24.selectCRM = function (params, cb) {
    if (isFunction(params)) { cb = params; params = {}; }
    params = params || {};
    sendMessage('selectCRM', { entityType: params.entityType, multiple: !!params.multiple, value: params.value }, cb);
  };

  BX24.im = {
    callTo: function (userId, video) { sendMessage('imCallTo', { userId: userId, video: !!video }); },
    phoneTo: function (phone) { sendMessage('imPhoneTo', { phone: phone }); },
    openMessenger: function (dialogId) { sendMessage('imOpenMessenger', { dialogId: dialogId }); },
    openHistory: function (dialogId) { sendMessage('imOpenHistory', { dialogId: dialogId }); }
  };

  BX24.userOption = {
    get: function (name) { return PARAMS.USER_OPTIONS ? PARAMS.USER_OPTIONS[name] : undefined; },
    set: function (name, value) {
      if (!PARAMS.USER_OPTIONS) PARAMS.USER_OPTIONS = {};
      PARAMS.USER_OPTIONS[name] = value;
      sendMessage('setUserOption', { name: name, value: value });
    }
  };
  BX24.appOption = {
    get: function (name) { return PARAMS.APP_OPTIONS ? PARAMS.APP_OPTIONS[name] : undefined; },
    set: function (name, value, cb) {
      if (!BX24.isAdmin()) return; // only admins may change app options
      if (!PARAMS.APP_OPTIONS) PARAMS.APP_OPTIONS = {};
      PARAMS.APP_OPTIONS[name] = value;
      sendMessage('setAppOption', { name: name, value: value }, cb);
    }
  };

  BX24.placement = {
    info: function () { return { placement: PARAMS.PLACEMENT, options: PARAMS.PLACEMENT_OPTIONS }; },
    getInterface: function (cb) { sendMessage('getInterface', {}, cb); },
    bindEvent: function (eventName, cb) { sendMessage('placementBindEvent', { event: eventName }, cb); },
    call: function (command, params, cb) {
      if (Object.prototype.hasOwnProperty.call(BX24, command)) {
        throw new Error('Use BX24.' + command + ' instead of BX24.placement.call');
      }
      if (isFunction(params)) { cb = params; params = null; }
      sendMessage(command, params, cb);
    }
  };

  // -- REST --------------------------------------------------------------------------------------------------

  // As the legacy library's prepareData: an empty array is `name=`; an empty object or null adds nothing.
  function encode(data, prefix, out) {
    if (data === null || data === undefined) return out;
    if (!prefix && isString(data)) { out.push(data); return out; }
    var keys = Object.keys(data);
    if (prefix && keys.length === 0 && isArray(data)) {
      out.push(prefix + '=');
      return out;
    }
    for (var i = 0; i < keys.length; i++) {
      var key = encodeURIComponent(keys[i]);
      var name = prefix ? prefix + '[' + key + ']' : key;
      var value = data[keys[i]];
      if (value === undefined || value === null) continue;
      if (value instanceof Date) out.push(name + '=' + encodeURIComponent(value.toJSON()));
      else if (typeof value === 'object') encode(value, name, out);
      else out.push(name + '=' + encodeURIComponent(value));
    }
    return out;
  }

  function Result(answer, query, status) {
    this.answer = answer;
    this.query = query;
    this.status = status;
    if (answer.next !== undefined) this.answer.next = parseInt(answer.next, 10);
    if (answer.error !== undefined) {
      this.answer.ex = new ResultError(status, isString(answer.error) ? answer : answer.error);
    }
  }
  Result.prototype.data = function () { return this.answer.result; };
  Result.prototype.error = function () { return this.answer.ex; };
  Result.prototype.error_description = function () { return this.answer.error_description; };
  Result.prototype.more = function () { return !isNaN(this.answer.next); };
  Result.prototype.total = function () { return parseInt(this.answer.total, 10); };
  Result.prototype.time = function () { return this.answer.time; };
  Result.prototype.next = function (cb) {
    if (!this.more()) return false;
    var q = { method: this.query.method, data: this.query.data, callback: isFunction(cb) ? cb : this.query.callback,
              start: this.answer.next };
    return ajax(q);
  };

  function ResultError(status, ex) { this.status = status; this.ex = ex; }
  ResultError.prototype.getError = function () { return this.ex; };
  ResultError.prototype.getStatus = function () { return this.status; };
  ResultError.prototype.toString = function () {
    return this.ex.error + (this.ex.error_description ? ': ' + this.ex.error_description : '') + ' (' + this.status + ')';
  };

  function ajax(config) {
    if (!isInit) { BX24.init(function () { ajax(config); }); return null; }
    if (PARAMS.AUTH_EXPIRES < Date.now()) { BX24.refreshAuth(function () { ajax(config); }); return null; }
    var xhr = new global.XMLHttpRequest();
    var url = origin() + PARAMS.PATH + '/' + encodeURIComponent(config.method) + '.json';
    xhr.open('POST', url);
    xhr.onload = function () {
      var s = xhr.status;
      var ok = (s >= 200 && s < 300) || s === 304 || (s >= 400 && s < 500) || s === 0;
      if (!ok) throw new Error('Query error!');
      var data;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : { result: {} }; }
      catch (err) { throw new Error('Query error!'); }
      if (data.error === 'expired_token') {
        BX24.refreshAuth(function () { ajax(config); });
        return;
      }
      if (isFunction(config.callback)) config.callback.call(global, new Result(data, config, s));
    };
    xhr.onerror = function () { throw new Error('Query error!'); };
    var body = 'auth=' + encodeURIComponent(PARAMS.AUTH_ID);
    if (config.start !== undefined) body += '&start=' + parseInt(config.start, 10);
    var rest = encode(config.data, '', []).join('&');
    if (rest) body += '&' + rest;
    xhr.send(body); // a string body: the browser labels it text/plain, the host parses it as a form
    return xhr;
  }

  BX24.callMethod = function (method, params, cb) {
    if (isFunction(params)) { cb = params; params = {}; }
    return ajax({ method: method, data: params, callback: cb });
  };

  BX24.callBatch = function (calls, cb, halt) {
    var arrayForm = isArray(calls);
    var cmd = arrayForm ? [] : {};
    var keys = Object.keys(calls || {});
    var methods = {};
    for (var i = 0; i < keys.length; i++) {
      var item = calls[keys[i]];
      var method = null;
      var params = null;
      if (isArray(item)) { method = item[0]; params = item[1]; }
      else if (item && item.method) { method = item.method; params = item.params; }
      if (!method) continue;
      methods[keys[i]] = [method, params];
      cmd[keys[i]] = method + '?' + encode(params, '', []).join('&');
    }
    return ajax({
      method: 'batch',
      data: { halt: halt ? 1 : 0, cmd: cmd },
      callback: function (res) {
        if (!isFunction(cb)) return;
        var data = res.data() || {};
        var out = arrayForm ? [] : {};
        Object.keys(methods).forEach(function (k) {
          var result = data.result && data.result[k];
          var err = data.result_error && data.result_error[k];
          if (result === undefined && err === undefined) return;
          out[k] = new Result({
            result: result === undefined ? {} : result,
            error: err === undefined ? undefined : err,
            total: data.result_total && data.result_total[k],
            next: data.result_next && data.result_next[k]
          }, { method: methods[k][0], data: methods[k][1], callback: cb }, res.status);
          if (out[k].answer.error === undefined) delete out[k].answer.error;
        });
        cb.call(global, out);
      }
    });
  };

  BX24.callBind = function (event, handler, authType, cb) {
    if (!isInit) { var a = arguments; BX24.init(function () { BX24.callBind.apply(BX24, a); }); return false; }
    if (!BX24.isAdmin()) return false;
    return BX24.callMethod('event.bind', { event: event || '', handler: handler || '',
                                           auth_type: authType === undefined ? 0 : authType }, cb);
  };
  BX24.callUnbind = BX24.callUnBind = function (event, handler, authType, cb) {
    if (!isInit) { var a = arguments; BX24.init(function () { BX24.callUnbind.apply(BX24, a); }); return false; }
    if (!BX24.isAdmin()) return false;
    var p = { event: event || '', handler: handler || '' };
    if (authType !== undefined && authType !== null) p.auth_type = authType;
    return BX24.callMethod('event.unbind', p, cb);
  };

  BX24.loadScript = function (src, cb) {
    var list = isString(src) ? [src] : (src || []);
    (function next(i) {
      if (i >= list.length) { if (isFunction(cb)) cb(); return; }
      var s = global.document.createElement('script');
      s.src = list[i];
      s.onload = function () { next(i + 1); };
      (global.document.head || global.document.documentElement).appendChild(s);
    })(0);
  };
  BX24.bind = function (node, name, fn) { if (node) node.addEventListener(name, fn, false); };
  BX24.unbind = function (node, name, fn) { if (node) node.removeEventListener(name, fn, false); };
  BX24.canUse = function () { return true; };
})(window);
