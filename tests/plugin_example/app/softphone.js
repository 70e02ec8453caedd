/*
 * Acme Softphone: a small PAGE_BACKGROUND_WORKER telephony app for Bitrix24, written with the classic
 * BX24 library. Its "PBX" is simulated: softphone.ring(number) stands for the incoming call the real app
 * would get from its telephony provider.
 *
 * What it does with the call card:
 *  - on a call: telephony.externalCall.register (SHOW=1) opens the operator's card;
 *  - BackgroundCallCard::initialized: sets the card's title, status and UiState "incoming";
 *  - answer button: UiState "connected" (the card starts its timer);
 *  - mute button: shows "Muted" / "Talking" in the status line;
 *  - hangup button: telephony.externalCall.finish, which closes the card.
 */
(function () {
  'use strict';

  var softphone = window.softphone = {
    ready: false,      // true once the card events are bound
    userId: null,      // the operator this page belongs to (user.current)
    call: null,        // {id, number, answeredAt}
    log: []            // what the app saw, for its own debugging (and for tests)
  };

  function note(what, data) {
    softphone.log.push({ what: what, data: data === undefined ? null : data });
  }

  function command(name, params) {
    BX24.placement.call(name, params, function (reply) { note('reply ' + name, reply); });
  }

  var handlers = {
    'BackgroundCallCard::initialized': function (status) {
      // the event may arrive before register's reply: match the call by its CALL_ID once known
      var call = softphone.call;
      if (!call || (call.id && status.CALL_ID !== call.id)) return;
      call.id = status.CALL_ID;
      command('CallCardSetCardTitle', { title: 'Acme: ' + softphone.call.number });
      command('CallCardSetStatusText', { statusText: 'Ringing…' });
      command('CallCardSetUiState', { uiState: 'incoming' });
    },
    'BackgroundCallCard::answerButtonClick': function () {
      softphone.call.answeredAt = Date.now();
      command('CallCardSetUiState', { uiState: 'connected' });
      command('CallCardSetStatusText', { statusText: 'Talking' });
    },
    'BackgroundCallCard::muteButtonClick': function (muted) {
      command('CallCardSetStatusText', { statusText: muted ? 'Muted' : 'Talking' });
    },
    'BackgroundCallCard::hangupButtonClick': function () {
      var call = softphone.call;
      var seconds = call.answeredAt ? Math.round((Date.now() - call.answeredAt) / 1000) : 0;
      BX24.callMethod('telephony.externalCall.finish', {
        CALL_ID: call.id, USER_ID: softphone.userId, DURATION: seconds, STATUS_CODE: '200'
      }, function (result) {
        if (result.error()) { note('finish failed', String(result.error())); return; }
        note('finished', call.id);
        softphone.call = null;
      });
    }
  };

  /** The PBX rings: register the call, which shows the card to the operator. */
  softphone.ring = function (number) {
    softphone.call = { id: null, number: number, answeredAt: null };
    BX24.callMethod('telephony.externalCall.register', {
      USER_ID: softphone.userId, PHONE_NUMBER: number, TYPE: 2, SHOW: 1
    }, function (result) {
      if (result.error()) { note('register failed', String(result.error())); return; }
      softphone.call.id = result.data().CALL_ID;
      note('registered', softphone.call.id);
    });
  };

  BX24.init(function () {
    BX24.callMethod('user.current', {}, function (result) {
      softphone.userId = Number(result.data().ID);
      Object.keys(handlers).forEach(function (event) {
        BX24.placement.bindEvent(event, function (payload) {
          note(event, payload);
          handlers[event](payload);
        });
      });
      softphone.ready = true;
    });
  });
})();
