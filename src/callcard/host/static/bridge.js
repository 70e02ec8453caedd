/*
 * callcard host bridge: the portal page's side of Bitrix24's postMessage wire
 * (shared/spec/wire-protocol.md; call-card.md for the card commands and events).
 *
 * One `message` listener for the whole page. Each app frame is a *layout* (one APP_SID), created from a
 * frame descriptor rendered by the server (callcard/host/frames.py). For every message:
 *   origin check (layouts whose app origin equals event.origin) -> type check (string or plain object)
 *   -> parse (string split rule §4.1 / object form §4.2) -> appSid check -> dispatch (§6).
 * Unknown and denied commands get no reply at all (as on the platform); they are reported to the server
 * for the conformance report. Replies are `callbackId:JSON` strings posted to the app's origin, never '*'.
 *
 * The bridge knows nothing about WebSockets: the page hands it a `server` object with
 *   request(msg) -> Promise<answer>   (a command the server must run; answer {reply} | {noReply: true})
 *   notify(msg)                        (fire and forget: timeline, conformance, load times; the page may
 *                                       send these later, in batches — never ahead of a reply)
 * and `hooks` for what only the page can do (toasts, sliders, dialogs, CRM re-render, frame reloads).
 *
 * Replies the server would give without looking at anything (`interface.local`, e.g.
 * CallCardGetListUiStates) are answered here, and the server is told with a `used` notice.
 */
(function (global) {
  'use strict';

  var BIND = 'placementBindEvent';
  var now = function () { return global.performance.now(); };

  function isPlainObject(v) {
    if (v === null || typeof v !== 'object') return false;
    var proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
  }

  /** §4.1: split on every ':'; first = command, last = appSid, second-to-last = callback id. */
  function parseString(text) {
    var pieces = text.split(':');
    if (pieces.length < 3) return null;
    var raw = pieces.slice(1, pieces.length - 2).join(':');
    var params = [];
    var rawParams = false;
    if (raw !== '') {
      try {
        params = JSON.parse(raw);
      } catch (e) {
        params = raw; // b24jssdk's setValue sends raw values; the platform would throw here
        rawParams = true;
      }
    }
    return {
      form: 'string',
      command: pieces[0],
      params: params,
      callbackId: pieces[pieces.length - 2],
      appSid: pieces[pieces.length - 1],
      rawParams: rawParams
    };
  }

  /** §4.2: {method, params, callback, appSid[, requestId, ...]}; '' or missing params mean []. */
  function parseObject(data) {
    if (typeof data.method !== 'string' || typeof data.appSid !== 'string') return null;
    var params = data.params;
    if (params === undefined || params === null || params === '') params = [];
    var cb = data.callback;
    cb = (typeof cb === 'string') ? cb : (cb === undefined || cb === null ? '' : String(cb));
    return { form: 'object', command: data.method, params: params, callbackId: cb,
             appSid: data.appSid, rawParams: false };
  }

  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }

  function Layout(bridge, desc, iframe) {
    this.bridge = bridge;
    this.desc = desc;
    this.sid = desc.appSid;
    this.appId = desc.appId;
    this.origin = desc.origin;
    this.placement = desc.placement;
    this.iface = desc.interface;
    this.iframe = iframe;
    this.init = clone(desc.initData);
    this.authAt = now();
    this.authExpiresIn = Number(this.init.AUTH_EXPIRES) || 0;
    this.destroyed = false;
    this.chain = Promise.resolve();
    this.createdAt = now();
  }

  Layout.prototype.post = function (text) {
    if (this.destroyed || !this.iframe || !this.iframe.contentWindow) return false;
    this.iframe.contentWindow.postMessage(text, this.origin);
    return true;
  };

  /** getInitData's answer: AUTH_EXPIRES counts down from the render; FIRST_RUN is then cleared. */
  Layout.prototype.initData = function () {
    var data = clone(this.init);
    var left = this.authExpiresIn - (now() - this.authAt) / 1000;
    data.AUTH_EXPIRES = Math.max(0, Math.round(left));
    this.init.FIRST_RUN = false;
    return data;
  };

  Layout.prototype.setAuth = function (auth) {
    this.init.AUTH_ID = auth.AUTH_ID;
    this.init.REFRESH_ID = auth.REFRESH_ID;
    this.authExpiresIn = Number(auth.AUTH_EXPIRES) || 0;
    this.authAt = now();
  };

  function Bridge(options) {
    this.server = options.server;
    this.hooks = options.hooks || {};
    this.guardMs = Number(options.guardMs || 0);
    this.layouts = new Map(); // sid -> Layout, insertion order
    this.bindings = []; // in binding order across frames (§10)
    this.sticky = []; // {event, until, sent:Set(sid)} replayed to new bindings (restored cards)
    this._onMessage = this._onMessage.bind(this);
    global.addEventListener('message', this._onMessage);
  }

  Bridge.parseString = parseString;
  Bridge.parseObject = parseObject;

  Bridge.prototype.addLayout = function (desc, iframe) {
    var layout = new Layout(this, desc, iframe);
    this.layouts.set(layout.sid, layout);
    return layout;
  };

  /** Destroy a layout: its bindings die with it; nothing is posted to it afterwards. */
  Bridge.prototype.removeLayout = function (sid) {
    var layout = this.layouts.get(sid);
    if (!layout) return;
    layout.destroyed = true;
    this.layouts.delete(sid);
    this.bindings = this.bindings.filter(function (b) {
      if (b.layout === layout && b.timer) clearTimeout(b.timer);
      return b.layout !== layout;
    });
    this.server.notify({ t: 'drop', sid: sid });
  };

  Bridge.prototype.layout = function (sid) { return this.layouts.get(sid) || null; };

  // -- receiving ------------------------------------------------------------------------------------

  Bridge.prototype._onMessage = function (event) {
    var candidates = [];
    this.layouts.forEach(function (layout) {
      if (layout.origin === event.origin) candidates.push(layout);
    });
    if (!candidates.length) return; // §4 step 1: not from an app origin we host
    var data = event.data;
    var msg = null;
    if (typeof data === 'string') msg = parseString(data);
    else if (isPlainObject(data)) msg = parseObject(data);
    if (!msg) return;
    var layout = null;
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i].sid === msg.appSid) { layout = candidates[i]; break; }
    }
    if (!layout) return; // §4 step 3: the appSid must be a layout of that origin
    this.server.notify({ t: 'wire', sid: layout.sid, dir: 'in', kind: msg.command, data: data });
    if (msg.rawParams) {
      this.conform(layout, 'raw_params', 'Parameters of ' + msg.command + ' are not JSON',
                   { command: msg.command, params: msg.params });
    }
    var self = this;
    // Commands of one frame are handled in arrival order (§10): each waits for the previous one.
    layout.chain = layout.chain.then(function () { return self._dispatch(layout, msg); })
      .catch(function (err) { if (global.console) global.console.error('callcard bridge', err); });
  };

  Bridge.prototype._responder = function (layout, msg) {
    var self = this;
    var done = false;
    return function (value) {
      if (done || !msg.callbackId) return; // no callback id: the app wants no reply
      done = true;
      var text = msg.callbackId + ':' + (value === undefined ? '' : JSON.stringify(value));
      if (layout.post(text)) {
        self.server.notify({ t: 'wire', sid: layout.sid, dir: 'out', kind: 'reply:' + msg.command, data: text });
      }
    };
  };

  Bridge.prototype._ignore = function (layout, msg, why) {
    this.conform(layout, 'command_ignored', 'Command ' + msg.command + ' ignored (' + why + ')',
                 { command: msg.command, reason: why, placement: layout.placement });
  };

  Bridge.prototype._dispatch = function (layout, msg) {
    if (layout.destroyed) return;
    var command = msg.command;
    var iface = layout.iface;
    if (iface.denied.indexOf(command) >= 0 || (iface.popup && command === 'resizeWindow')) {
      return this._ignore(layout, msg, 'denied');
    }
    var reply = this._responder(layout, msg);
    if (Object.prototype.hasOwnProperty.call(GENERIC, command)) {
      return GENERIC[command].call(this, layout, msg.params, reply, msg);
    }
    if (command === BIND && iface.bindable) {
      return this._bind(layout, msg);
    }
    if (iface.commands.indexOf(command) >= 0) {
      return this._placementCommand(layout, msg, reply);
    }
    return this._ignore(layout, msg, 'unknown');
  };

  Bridge.prototype._placementCommand = function (layout, msg, reply) {
    var self = this;
    if ((msg.command === 'CallCardStartTimer' || msg.command === 'CallCardStopTimer') && msg.callbackId) {
      this.conform(layout, 'awaited_timer', msg.command + ' sent with a callback',
                   { command: msg.command });
    }
    var local = layout.iface.local;
    if (local && Object.prototype.hasOwnProperty.call(local, msg.command)) {
      reply(clone(local[msg.command]));
      this.server.notify({ t: 'used', sid: layout.sid, cmd: msg.command }); // the card counts it as used
      return;
    }
    return this.server.request({ t: 'cmd', sid: layout.sid, cmd: msg.command, params: msg.params })
      .then(function (answer) {
        if (msg.command === 'reloadData' && self.hooks.reloadData) self.hooks.reloadData(answer);
        if (!answer.noReply) reply(answer.reply);
      });
  };

  // -- events (§9) ----------------------------------------------------------------------------------

  Bridge.prototype._bind = function (layout, msg) {
    var name = msg.params && typeof msg.params === 'object' ? msg.params.event : undefined;
    if (typeof name !== 'string' || layout.iface.events.indexOf(name) < 0) {
      this.conform(layout, 'unknown_bind_event', 'placementBindEvent for unknown event ' + String(name),
                   { event: name === undefined ? null : name, placement: layout.placement });
      return; // silence: nothing registered, no reply
    }
    if (!msg.callbackId) return; // nowhere to deliver
    var dup = this.bindings.some(function (b) { return b.layout === layout && b.event === name; });
    if (dup) {
      this.conform(layout, 'duplicate_bind', name + ' bound more than once', { event: name });
    }
    var binding = { layout: layout, event: name, cb: msg.callbackId, at: now(), queue: [], timer: null };
    this.bindings.push(binding); // no reply at bind time (§9 rule 1)
    var self = this;
    this.sticky.forEach(function (s) {
      if (s.event.name === name && now() < s.until && !s.sent.has(layout.sid)) {
        s.sent.add(layout.sid);
        self._offer(binding, s.event);
      }
    });
  };

  /** Deliver a batch of events from the server to every binding, in binding order. */
  Bridge.prototype.deliver = function (events) {
    for (var i = 0; i < events.length; i++) {
      var ev = events[i];
      var targets = this.bindings.filter(function (b) { return b.event === ev.name && !b.layout.destroyed; });
      for (var j = 0; j < targets.length; j++) this._offer(targets[j], ev);
    }
  };

  /** Keep `event` for bindings made within `windowMs` (one per layout): a restored card's
   * `initialized` reaches the frames of the reloaded page (call-card.md §9.5). */
  Bridge.prototype.replayToNewBindings = function (event, windowMs) {
    this.sticky = this.sticky.filter(function (s) { return now() < s.until; });
    this.sticky.push({ event: event, until: now() + windowMs, sent: new Set() });
  };

  Bridge.prototype.clearSticky = function () { this.sticky = []; };

  Bridge.prototype._offer = function (binding, ev) {
    var age = now() - binding.at;
    if (binding.queue.length || age < this.guardMs) {
      // §9.1: b24jssdk would swallow an event in the first 900 ms after the bind; hold it back.
      binding.queue.push(ev);
      this.conform(binding.layout, 'event_held_back',
                   ev.name + ' held back ' + Math.round(this.guardMs - age) + ' ms by the bind guard',
                   { event: ev.name });
      this._scheduleFlush(binding);
      return;
    }
    this._postEvent(binding, ev);
  };

  Bridge.prototype._scheduleFlush = function (binding) {
    if (binding.timer) return;
    var self = this;
    var wait = Math.max(0, this.guardMs - (now() - binding.at));
    binding.timer = setTimeout(function () {
      binding.timer = null;
      if (now() - binding.at < self.guardMs) { self._scheduleFlush(binding); return; }
      var queue = binding.queue;
      binding.queue = [];
      for (var i = 0; i < queue.length; i++) self._postEvent(binding, queue[i]);
    }, wait + 1);
  };

  Bridge.prototype._postEvent = function (binding, ev) {
    if (binding.layout.destroyed) return;
    var text = binding.cb + ':' + (ev.has ? JSON.stringify(ev.payload) : '');
    if (binding.layout.post(text)) {
      this.server.notify({ t: 'wire', sid: binding.layout.sid, dir: 'out', kind: ev.name, data: text });
    }
  };

  // -- conformance ----------------------------------------------------------------------------------

  Bridge.prototype.conform = function (layout, kind, message, detail) {
    this.server.notify({ t: 'conf', sid: layout.sid, kind: kind, message: message, detail: detail || {} });
  };

  // -- generic commands (§8) ------------------------------------------------------------------------

  function viaServer(layout, msg) {
    return layout.bridge.server.request({ t: 'cmd', sid: layout.sid, cmd: msg.command, params: msg.params });
  }

  function toast(bridge, text) { if (bridge.hooks.toast) bridge.hooks.toast(text); }

  function px(v, fallback) {
    var n = parseInt(v, 10);
    return isNaN(n) ? fallback : n;
  }

  var GENERIC = {
    getInitData: function (layout, params, reply) { reply(layout.initData()); },

    refreshAuth: function (layout, params, reply, msg) {
      return viaServer(layout, msg).then(function (answer) {
        layout.setAuth(answer.reply);
        reply(answer.reply);
      });
    },

    getInterface: function (layout, params, reply) {
      var iface = layout.iface;
      reply({
        command: iface.commands.filter(function (c) { return iface.denied.indexOf(c) < 0; }),
        event: iface.events.slice()
      });
    },

    resizeWindow: function (layout, params, reply) {
      var frame = layout.iframe;
      var p = isPlainObject(params) ? params : {};
      var w = p.width;
      var widthCss = (typeof w === 'string' && /%$/.test(w)) ? w : px(w, null) !== null ? px(w, 0) + 'px' : null;
      var h = px(p.height, null);
      if (widthCss) frame.style.width = widthCss;
      if (h !== null) frame.style.height = h + 'px';
      var rect = frame.getBoundingClientRect();
      // a hidden (background) frame measures 0: answer the pixel sizes that were applied
      var pxWidth = widthCss && /px$/.test(widthCss) ? px(widthCss, 0) : 0;
      reply({
        width: Math.round(rect.width) || pxWidth,
        height: Math.round(rect.height) || (h === null ? 0 : h)
      });
    },

    setTitle: function (layout, params, reply) {
      if (params && params.title !== undefined) global.document.title = String(params.title);
      reply(params);
    },

    setScroll: function (layout, params, reply) {
      if (params && params.scroll !== undefined) global.scrollTo(0, px(params.scroll, 0));
      reply(params);
    },

    setUserOption: function (layout, params, reply, msg) {
      return viaServer(layout, msg).then(function (answer) {
        if (isPlainObject(params) && typeof params.name === 'string') {
          if (!isPlainObject(layout.init.USER_OPTIONS)) layout.init.USER_OPTIONS = {};
          layout.init.USER_OPTIONS[params.name] = params.value;
        }
        if (!answer.noReply) reply(answer.reply);
      });
    },

    setAppOption: function (layout, params, reply, msg) {
      return viaServer(layout, msg).then(function (answer) {
        if (answer.noReply) return; // not an admin: no reply (§8)
        if (isPlainObject(params) && typeof params.name === 'string') {
          if (!isPlainObject(layout.init.APP_OPTIONS)) layout.init.APP_OPTIONS = {};
          layout.init.APP_OPTIONS[params.name] = params.value;
        }
        reply(answer.reply);
      });
    },

    setInstall: function (layout, params, reply, msg) {
      return viaServer(layout, msg).then(function (answer) {
        if (isPlainObject(params) && 'install' in params) layout.init.INSTALL = !!params.install;
        if (!answer.noReply) reply(answer.reply);
      });
    },

    setInstallFinish: function (layout, params, reply, msg) {
      var bridge = layout.bridge;
      return viaServer(layout, msg).then(function (answer) {
        // no reply; the frame is reloaded with install_finished=Y|N
        if (answer.reload && bridge.hooks.reloadFrame) bridge.hooks.reloadFrame(layout, answer.reload);
      });
    },

    reloadWindow: function () { global.location.reload(); },

    imCallTo: function (layout, params) {
      toast(layout.bridge, (layout.desc.appName || 'App') + ' asks to call user ' + (params && params.userId) +
            (params && params.video ? ' (video)' : ''));
    },
    imPhoneTo: function (layout, params) {
      toast(layout.bridge, (layout.desc.appName || 'App') + ' asks to phone ' + (params && params.phone));
    },
    imOpenMessenger: function (layout, params) {
      toast(layout.bridge, (layout.desc.appName || 'App') + ' opens the messenger: ' + (params && params.dialogId));
    },
    imOpenHistory: function (layout, params) {
      toast(layout.bridge, (layout.desc.appName || 'App') + ' opens the history of ' + (params && params.dialogId));
    },

    openApplication: function (layout, params, reply) {
      var hooks = layout.bridge.hooks;
      if (!hooks.openApplication) return;
      hooks.openApplication(layout, isPlainObject(params) ? params : {}, function () { reply(undefined); });
    },

    closeApplication: function (layout, params, reply) {
      var hooks = layout.bridge.hooks;
      if (hooks.closeApplication && hooks.closeApplication(layout)) reply(undefined);
    },

    openPath: function (layout, params, reply) {
      var hooks = layout.bridge.hooks;
      var path = isPlainObject(params) ? params.path : undefined;
      if (typeof path !== 'string' || !hooks.openPath || !hooks.openPath(path, function () {
        reply({ result: 'close' });
      })) {
        reply({ result: 'error', errorCode: 'PATH_NOT_AVAILABLE' });
      }
    },

    selectUser: function (layout, params, reply) { return dialog(layout, 'selectUser', params, reply); },
    selectAccess: function (layout, params, reply) { return dialog(layout, 'selectAccess', params, reply); },
    selectCRM: function (layout, params, reply) { return dialog(layout, 'selectCRM', params, reply); }
  };

  /** Host pickers: reply with the selection; a cancelled dialog sends nothing (team choice, §8). */
  function dialog(layout, kind, params, reply) {
    var hooks = layout.bridge.hooks;
    if (!hooks.select) return;
    hooks.select(kind, isPlainObject(params) ? params : {}, function (selection) {
      if (selection === undefined) {
        layout.bridge.conform(layout, 'selector_cancelled', kind + ' cancelled', { command: kind });
        return;
      }
      reply(selection);
    });
  }

  Bridge.GENERIC_COMMANDS = Object.keys(GENERIC);
  global.CallcardBridge = Bridge;
})(window);
