/*
 * Shared by the end-to-end test apps: `window.testApp` keeps what the frame received, for the test to
 * read with frame.evaluate(...). The SDK-specific scripts (b24jssdk-app.js, bx24-app.js) add
 * testApp.call(command, params) -> Promise<reply>, testApp.rest(method, params) -> Promise<{result}|{error}>
 * and testApp.getInterface(), then bind every event of the frame's placement and set testApp.ready.
 */
(function () {
  'use strict';
  var BACKGROUND = ['initialized', 'addCommentButtonClick', 'muteButtonClick', 'holdButtonClick',
    'closeButtonClick', 'transferButtonClick', 'cancelTransferButtonClick', 'completeTransferButtonClick',
    'hangupButtonClick', 'nextButtonClick', 'skipButtonClick', 'answerButtonClick', 'entityChanged',
    'qualityMeterClick', 'dialpadButtonClick', 'makeCallButtonClick', 'notifyAdminButtonClick'
  ].map(function (n) { return 'BackgroundCallCard::' + n; });
  var CALL_CARD = ['CallCard::EntityChanged', 'CallCard::BeforeClose', 'CallCard::CallStateChanged'];

  var name = String(window.name || '').split('|');
  var app = window.testApp = {
    ready: false,
    error: null,
    sdk: '',
    sid: name[2] || '',
    portal: (name[1] === '1' ? 'https://' : 'http://') + name[0],
    placement: '',
    options: null,
    events: [],    // {name, payload, at}: every bound event the SDK handed to its handler
    messages: [],  // {origin, data}: every message that reached this window (unless quiet)
    quiet: false,
    boundAt: 0,

    eventNames: function (placement) {
      if (placement === 'PAGE_BACKGROUND_WORKER') return BACKGROUND.slice();
      if (placement === 'CALL_CARD') return CALL_CARD.slice();
      return [];
    },

    record: function (eventName, payload) {
      var at = performance.timeOrigin + performance.now();
      app.events.push({ name: eventName, payload: payload, at: at });
      if (app.placement === 'CALL_CARD') {
        // a tab frame is destroyed with the card: report to the app's own server as well
        navigator.sendBeacon('/sink/event', JSON.stringify({ sid: app.sid, name: eventName, payload: payload }));
      }
      if (app.onEvent) app.onEvent(eventName, payload, at);
    },

    /** Post a raw message to the portal page, as an SDK would. */
    post: function (data) { parent.postMessage(data, app.portal); }
  };

  window.addEventListener('message', function (e) {
    if (app.quiet) return; // bench/bridge.py: keep the frame's own work out of the measurement
    app.messages.push({ origin: e.origin, data: typeof e.data === 'string' ? e.data : JSON.stringify(e.data) });
  });
})();
