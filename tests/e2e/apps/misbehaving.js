/*
 * The misbehaving test app (a PAGE_BACKGROUND_WORKER): every protocol mistake the conformance report knows,
 * made on purpose, one per scenario. Nothing happens on load beyond the two libraries' handshakes (in
 * particular no event is bound); the test drives each scenario with frame.evaluate('misbehave.<name>(...)'),
 * and every scenario resolves with what the app itself saw, so the test can check the app-side symptom too.
 *
 * The library per mistake is the one that makes it naturally: b24jssdk for what it does on its own
 * (safe-mode replies, raw setValue, the bind-guard race), classic BX24 (served by the portal at /api/v1/)
 * for hand-written callbacks and REST.
 */
(function () {
  'use strict';
  var app = window.testApp;
  var NO_REPLY_MS = 1000; // classic BX24 never times out: stop waiting after this
  var $b24 = null;
  app.sdk = 'misbehaving';

  function bx24Call(command, params) {
    return new Promise(function (resolve) {
      var settled = false;
      BX24.placement.call(command, params || {}, function (reply) {
        if (!settled) { settled = true; resolve(reply); }
      });
      setTimeout(function () {
        if (!settled) { settled = true; resolve({ noReply: true }); }
      }, NO_REPLY_MS);
    });
  }

  function bx24Rest(method, params) {
    return new Promise(function (resolve) {
      BX24.callMethod(method, params || {}, function (res) {
        var err = res.error();
        if (!err) { resolve({ result: res.data() }); return; }
        var body = err.getError();
        resolve({ error: body.error, description: body.error_description, status: err.getStatus() });
      });
    });
  }

  function recorder(eventName) {
    return function (payload) { app.record(eventName, payload); };
  }

  var misbehave = window.misbehave = {
    /** A card command at start-up, before any BackgroundCallCard::initialized: the guard answers. */
    commandBeforeInitialized: function () {
      return bx24Call('CallCardSetCardTitle', { title: 'Too early' });
    },

    /** One of the three states CallCardGetListUiStates does not list. */
    hiddenUiState: function (state) {
      return bx24Call('CallCardSetUiState', { uiState: state || 'idle' });
    },

    /** `await` on CallCardStartTimer: the host never answers it, b24jssdk's safe mode settles after 900 ms. */
    awaitTimer: function (command) {
      var started = performance.now();
      return $b24.placement.call(command || 'CallCardStartTimer', {}).then(function (reply) {
        return { reply: reply, waitedMs: performance.now() - started };
      });
    },

    /** The same event bound twice (no flag), as a re-run init routine does: each click is handled twice. */
    bindTwice: function (eventName) {
      for (var i = 0; i < 2; i++) BX24.placement.bindEvent(eventName, recorder(eventName));
      return true;
    },

    /** A command the placement does not have (a typo). */
    unknownCommand: function (command) {
      return bx24Call(command || 'CallCardSetTitle', { title: 'typo' });
    },
    /** A generic command the placement denies: setTitle, from code written for the app's DEFAULT page
     * (the classic library refuses to send it; b24jssdk sends it and its safe mode gives up). */
    deniedCommand: function () {
      return $b24.parent.setTitle('not in a background worker').then(function (reply) {
        return reply === undefined ? null : reply;
      });
    },

    /** A CALL_CARD event bound from the background worker: nothing is registered, nothing answers. */
    bindUnknownEvent: function (eventName) {
      BX24.placement.bindEvent(eventName || 'CallCard::EntityChanged', recorder(eventName));
      return true;
    },

    /** b24jssdk's setValue with a plain string that is not JSON (the SDK sends it raw). */
    rawSetValue: function (text) {
      return $b24.placement.call('setValue', { value: text || 'plain text' });
    },

    /** Bind `initialized` late and raise a card a moment later: the event comes within the bind guard.
     * (The moment, 200 ms, lets the bind reach the portal first: the bind crosses processes, while the
     * register's event can come back over the portal's socket sooner.) */
    bindLateThenRegister: function (phone, userId) {
      var name = 'BackgroundCallCard::initialized';
      $b24.placement.bindEvent(name, recorder(name)); // not awaited: it settles only after 900 ms
      app.boundAt = performance.now();
      return new Promise(function (resolve) { setTimeout(resolve, 200); }).then(function () {
        return $b24.actions.v2.call.make({
          method: 'telephony.externalCall.register',
          params: { USER_ID: userId, PHONE_NUMBER: phone, TYPE: 2, SHOW: 1 }
        });
      }).then(function (r) {
        return r.isSuccess ? { result: r.getData().result } : { error: r.getErrorMessages().join('; ') };
      });
    },

    /** Register a call (not shown) and never finish it; `finish` is there for the test to make amends. */
    registerWithoutFinish: function (phone, userId) {
      return bx24Rest('telephony.externalCall.register',
                      { USER_ID: userId, PHONE_NUMBER: phone, TYPE: 2, SHOW: 0 });
    },
    finish: function (callId, userId) {
      return bx24Rest('telephony.externalCall.finish', { CALL_ID: callId, USER_ID: userId, DURATION: 0 });
    },

    /** Finish a CALL_ID that was never registered. */
    finishUnknownCall: function (userId) {
      return bx24Rest('telephony.externalCall.finish',
                      { CALL_ID: 'externalCall.0000000000000000000000000000dead.1', USER_ID: userId, DURATION: 5 });
    },

    /** A REST request the platform rejects because of its parameters (PHONE_NUMBER forgotten). */
    registerWithoutNumber: function (userId) {
      return bx24Rest('telephony.externalCall.register', { USER_ID: userId, TYPE: 2 });
    },

    /** event.bind / placement.bind with a handler on this app's own origin (a host without a dot). */
    bindHandler: function (eventName, path) {
      return bx24Rest('event.bind', { event: eventName, handler: location.origin + path });
    },
    unbindHandler: function (eventName, path) {
      return bx24Rest('event.unbind', { event: eventName, handler: location.origin + path });
    },
    bindPlacement: function (placement, path) {
      return bx24Rest('placement.bind',
                      { PLACEMENT: placement, HANDLER: location.origin + path, TITLE: 'Misbehaving' });
    },
    unbindPlacement: function (placement) {
      return bx24Rest('placement.unbind', { PLACEMENT: placement });
    },

    /** A user picker whose promise the app waits on: the host's dialog is cancelled by the operator. */
    selectUser: function () {
      return new Promise(function (resolve) {
        BX24.selectUser(function (user) { resolve(user); });
      });
    }
  };

  var bx24Ready = new Promise(function (resolve) { BX24.init(resolve); });
  Promise.all([B24Js.initializeB24Frame(), bx24Ready]).then(function (ready) {
    $b24 = window.$b24 = ready[0];
    app.placement = $b24.placement.placement;
    app.options = $b24.placement.options;
    app.call = bx24Call;
    app.rest = bx24Rest;
    app.misbehave = misbehave;
    app.ready = true;
  }).catch(function (e) { app.error = String(e && (e.message || e)); });
})();
