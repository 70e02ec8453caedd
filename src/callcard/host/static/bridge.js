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
 *
 * This file holds the layouts, receiving and dispatch. Loaded before it through CallcardParts:
 * bridge_wire.js (parsing), bridge_events.js (§9 bindings and delivery, mixed into the prototype) and
 * bridge_commands.js (the §8 generic commands).
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts;
  var isPlainObject = ns.wire.isPlainObject;
  var parseString = ns.wire.parseString;
  var parseObject = ns.wire.parseObject;
  var clone = ns.wire.clone;
  var GENERIC = ns.genericCommands;

  var BIND = 'placementBindEvent';
  var now = function () { return global.performance.now(); };

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

  // -- conformance ----------------------------------------------------------------------------------

  Bridge.prototype.conform = function (layout, kind, message, detail) {
    this.server.notify({ t: 'conf', sid: layout.sid, kind: kind, message: message, detail: detail || {} });
  };

  Object.assign(Bridge.prototype, ns.bridgeEvents);  // placementBindEvent, deliver, bind guard (§9)

  Bridge.GENERIC_COMMANDS = Object.keys(GENERIC);
  global.CallcardBridge = Bridge;
})(window);
