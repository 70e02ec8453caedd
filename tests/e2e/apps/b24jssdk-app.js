/* The b24jssdk test app: initializeB24Frame(), then bind every event of the placement. */
(function () {
  'use strict';
  var app = window.testApp;
  app.sdk = 'b24jssdk';
  B24Js.initializeB24Frame().then(function ($b24) {
    window.$b24 = $b24;
    app.placement = $b24.placement.placement;
    app.options = $b24.placement.options;
    app.call = function (command, params) { return $b24.placement.call(command, params || {}); };
    app.getInterface = function () { return $b24.placement.getInterface(); };
    app.rest = function (method, params) {
      return $b24.actions.v2.call.make({ method: method, params: params || {} }).then(function (r) {
        return r.isSuccess ? { result: r.getData().result } : { error: r.getErrorMessages().join('; ') };
      }, function (e) { return { error: String(e && (e.message || e)) }; });
    };
    // bindEvent's promise settles by itself after 900 ms (the host never answers a bind): don't wait
    app.eventNames(app.placement).forEach(function (eventName) {
      $b24.placement.bindEvent(eventName, function (payload) { app.record(eventName, payload); });
    });
    app.boundAt = performance.now();
    app.ready = true;
  }).catch(function (e) { app.error = String(e && (e.message || e)); });
})();
