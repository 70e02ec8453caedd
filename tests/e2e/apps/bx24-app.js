/* The classic BX24 test app: BX24.init, then bind every event of the placement. */
(function () {
  'use strict';
  var app = window.testApp;
  var NO_REPLY_MS = 1000; // the legacy library never times out; the test app stops waiting after this
  app.sdk = 'bx24';
  BX24.init(function () {
    var info = BX24.placement.info();
    app.placement = info.placement;
    app.options = info.options;
    app.call = function (command, params, waitMs) {
      return new Promise(function (resolve) {
        var settled = false;
        BX24.placement.call(command, params || {}, function (reply) {
          if (!settled) { settled = true; resolve(reply); }
        });
        setTimeout(function () {
          if (!settled) { settled = true; resolve({ noReply: true }); }
        }, waitMs || NO_REPLY_MS);
      });
    };
    app.getInterface = function () { return new Promise(function (r) { BX24.placement.getInterface(r); }); };
    app.rest = function (method, params) {
      return new Promise(function (resolve) {
        BX24.callMethod(method, params || {}, function (res) {
          var err = res.error();
          resolve(err ? { error: String(err) } : { result: res.data() });
        });
      });
    };
    app.eventNames(app.placement).forEach(function (eventName) {
      BX24.placement.bindEvent(eventName, function (payload) { app.record(eventName, payload); });
    });
    app.boundAt = performance.now();
    app.ready = true;
  });
})();
