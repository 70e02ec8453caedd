/*
 * callcard host bridge, the generic commands every layout may send (wire-protocol.md §8): getInitData,
 * refreshAuth, getInterface, resizeWindow, setTitle/setScroll, user/app options, install, messenger
 * requests, sliders, openPath and the host pickers. What needs the server goes through
 * `bridge.server.request`; what only the page can do goes through `bridge.hooks`.
 *
 * Registers CallcardParts.genericCommands = {name: function (layout, params, reply, msg)} (uses
 * CallcardParts.wire); bridge.js dispatches to it.
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var isPlainObject = ns.wire.isPlainObject;

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

    // {install} says the app's first-run installer has run; it is not INSTALL (install mode, §7.1), which
    // only setInstallFinish ends. b24jssdk's init awaits this reply when FIRST_RUN is true (§11): answer
    // with the echo even when the server cannot be reached.
    setInstall: function (layout, params, reply, msg) {
      return viaServer(layout, msg).then(function (answer) {
        if (!answer.noReply) reply(answer.reply);
      }, function () { reply(params); });
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

  ns.genericCommands = GENERIC;
})(window);
