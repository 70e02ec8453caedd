/*
 * callcard demo softphone: a PAGE_BACKGROUND_WORKER app that drives the call card.
 *
 * It is the smallest complete telephony app: the PBX (here, callcard's demo server) tells it about
 * calls; it registers them with telephony.externalCall.register, which makes the portal open the card;
 * it drives the card with BX24.placement.call("CallCard…") and reacts to BackgroundCallCard::* events;
 * it reports the end of the call with telephony.externalCall.finish.
 *
 * Contract points worth copying:
 *  - Bind events once, at start. On the platform there is no unbind, and binding twice delivers twice.
 *  - Drive the card only after BackgroundCallCard::initialized: before it there is no card to drive.
 *  - CallCardStartTimer / CallCardStopTimer never call back on success: do not wait for them.
 *  - Setting mute/hold with CallCardSetMute/SetHold fires no muteButtonClick/holdButtonClick.
 */
(function () {
  "use strict";

  var current = null;   // {callId, phone, direction, startedAt, connectedAt}
  var me = null;        // the operator this frame runs for (user.current)

  function log(text) {
    var el = document.getElementById("log");
    if (el) el.textContent += new Date().toISOString().slice(11, 19) + " " + text + "\n";
  }

  function card(command, params, done) {
    BX24.placement.call(command, params || {}, function (result) {
      if (Array.isArray(result) && result[0] && result[0].result === "error") {
        log(command + " failed: " + result[0].errorCode);
      }
      if (done) done(result);
    });
  }

  function rest(method, params, done) {
    BX24.callMethod(method, params, function (res) {
      if (res.error()) { log(method + ": " + res.error()); return; }
      if (done) done(res.data());
    });
  }

  // -- calls from the PBX ------------------------------------------------------------------------

  function incoming(phone) {
    if (current) { log("busy, ignoring call from " + phone); return; }
    current = {phone: phone, direction: "incoming", startedAt: Date.now()};
    // TYPE 2 = incoming. SHOW defaults to 1: the portal opens the card for USER_ID.
    rest("telephony.externalCall.register",
         {USER_ID: me.ID, PHONE_NUMBER: phone, TYPE: 2, CRM_CREATE: 0},
         function (data) { current.callId = data.CALL_ID; log("registered " + data.CALL_ID); });
  }

  function outgoing(data) {
    // ONEXTERNALCALLSTART: the operator clicked a number; the portal registered the call already.
    if (current || String(data.USER_ID) !== String(me.ID)) return;
    current = {phone: data.PHONE_NUMBER, direction: "outgoing", callId: data.CALL_ID, startedAt: Date.now()};
    rest("telephony.externalCall.show", {CALL_ID: data.CALL_ID, USER_ID: me.ID});
  }

  function finish(statusCode) {
    if (!current || !current.callId) return;
    var talked = current.connectedAt ? Math.round((Date.now() - current.connectedAt) / 1000) : 0;
    var params = {CALL_ID: current.callId, USER_ID: me.ID, DURATION: talked};
    if (statusCode) params.STATUS_CODE = statusCode;
    current = null;
    rest("telephony.externalCall.finish", params, function () { log("finished, " + talked + " s"); });
  }

  function poll() {
    var origin = location.protocol + "//" + location.host;
    fetch(origin + "/pbx/poll?timeout=25").then(function (r) { return r.json(); }).then(function (items) {
      items.forEach(function (item) {
        if (item.kind === "incoming" && (!item.user_id || String(item.user_id) === String(me.ID))) incoming(item.phone);
        if (item.kind === "outgoing") outgoing(item.data);
      });
    }).catch(function () {}).then(function () { setTimeout(poll, 100); });
  }

  // -- the card ----------------------------------------------------------------------------------

  function connected() {
    current.connectedAt = Date.now();
    // "connected" starts the card's timer by itself.
    card("CallCardSetUiState", {uiState: "connected"});
    card("CallCardSetStatusText", {statusText: "Talking to " + current.phone});
  }

  var handlers = {
    initialized: function (status) {
      if (!current) return;   // a card some other app raised
      current.callId = current.callId || status.CALL_ID;
      if (current.direction === "incoming") {
        card("CallCardSetCardTitle", {title: "Incoming call"});
        card("CallCardSetUiState", {uiState: "incoming"});
        card("CallCardSetStatusText", {statusText: "Ringing… " + current.phone});
      } else {
        card("CallCardSetCardTitle", {title: "Call " + current.phone});
        card("CallCardSetUiState", {uiState: "outgoing"});
        card("CallCardSetStatusText", {statusText: "Press call to dial"});
      }
    },
    answerButtonClick: function () { if (current) connected(); },
    skipButtonClick: function () { finish("603-S"); },
    makeCallButtonClick: function () {
      if (!current) return;
      card("CallCardSetUiState", {uiState: "connectingOutgoing"});
      card("CallCardSetStatusText", {statusText: "Dialling " + current.phone + "…"});
      setTimeout(function () { if (current) connected(); }, 1500);   // the callee picks up
    },
    hangupButtonClick: function () { finish(); },
    muteButtonClick: function (muted) { log(muted ? "microphone off" : "microphone on"); },
    holdButtonClick: function (held) {
      card("CallCardSetStatusText", {statusText: held ? "On hold" : "Talking to " + current.phone});
    },
    dialpadButtonClick: function (key) { log("DTMF " + key); card("CallCardSetStatusText", {statusText: "Sent tone " + key}); },
    transferButtonClick: function (target) {
      card("CallCardSetUiState", {uiState: "transferring"});
      card("CallCardSetStatusText", {statusText: "Transferring to " + (target.target || target.phoneNumber) + "…"});
    },
    completeTransferButtonClick: function () {
      card("CallCardSetUiState", {uiState: "transferConnected"});
      card("CallCardSetStatusText", {statusText: "Transferred"});
    },
    cancelTransferButtonClick: function () { card("CallCardSetUiState", {uiState: "connected"}); },
    closeButtonClick: function () { if (current) finish(); },
    addCommentButtonClick: function (text) { log("comment: " + text); },
    qualityMeterClick: function (stars) { log("quality " + stars); },
    entityChanged: function (entity) { log("CRM " + entity.CRM_ENTITY_TYPE + " " + entity.CRM_ENTITY_ID); }
  };

  BX24.init(function () {
    Object.keys(handlers).forEach(function (name) {
      BX24.placement.bindEvent("BackgroundCallCard::" + name, handlers[name]);
    });
    rest("user.current", {}, function (user) { me = user; log("softphone ready for user " + me.ID); poll(); });
  });
})();
