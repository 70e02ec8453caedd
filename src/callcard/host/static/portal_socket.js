/*
 * callcard portal page, the page's WebSocket to the server (/ws): says hello with the page id, answers
 * requests by id (`re`), hands every other message to the handler registered for its type, queues
 * what is sent while disconnected and reconnects with backoff.
 *
 * Fire-and-forget notices (timeline, conformance, load times) are batched: sent NOTICE_DELAY_MS later as
 * one message, or carried by the next request, whose reply the server writes before handling them —
 * they never delay a reply.
 *
 *   var server = CallcardParts.portalSocket.create(pageId);
 *   server.on(type, fn); server.connect(); server.request(msg) -> Promise; server.notify(msg);
 *   server.flush();
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var doc = global.document;
  var REQUEST_TIMEOUT_MS = 15000;
  var NOTICE_DELAY_MS = 16; // about one frame: a burst of postMessages costs one WebSocket message
  var NOTICE_BATCH_MAX = 200;

  /** The socket of the page `pageId` (not connected until connect()). */
  function create(pageId) {
    var ws = null;
    var open = false;
    var outbox = [];
    var pending = new Map();
    var nextId = 1;
    var handlers = {};
    var retry = 0;
    var notices = [];
    var noticeTimer = null;

    function send(msg) {
      var text = JSON.stringify(msg);
      if (open) ws.send(text); else outbox.push(text);
    }

    function takeNotices() {
      var items = notices;
      notices = [];
      if (noticeTimer !== null) { clearTimeout(noticeTimer); noticeTimer = null; }
      return items;
    }

    function flushNotices() {
      noticeTimer = null;
      if (!notices.length) return;
      var items = takeNotices();
      send(items.length === 1 ? items[0] : { t: 'batch', items: items });
    }

    function connect() {
      var proto = global.location.protocol === 'https:' ? 'wss://' : 'ws://';
      ws = new global.WebSocket(proto + global.location.host + '/ws');
      ws.onopen = function () {
        ws.send(JSON.stringify({ t: 'hello', page: pageId }));
        open = true;
        retry = 0;
        var queued = outbox;
        outbox = [];
        queued.forEach(function (text) { ws.send(text); });
      };
      ws.onmessage = function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg.t === 're') {
          var p = pending.get(msg.id);
          if (!p) return;
          pending.delete(msg.id);
          clearTimeout(p.timer);
          if (msg.ok) p.resolve(msg); else p.reject(new Error(msg.error || 'request failed'));
          return;
        }
        if (handlers[msg.t]) handlers[msg.t](msg);
      };
      ws.onclose = function () {
        open = false;
        pending.forEach(function (p) { clearTimeout(p.timer); p.reject(new Error('connection closed')); });
        pending.clear();
        doc.documentElement.setAttribute('data-ws', 'closed');
        // try again; a server that no longer knows this page answers `reload`
        retry = Math.min(retry ? retry * 2 : 500, 5000);
        setTimeout(connect, retry);
      };
    }

    return {
      connect: connect,
      on: function (type, fn) { handlers[type] = fn; },
      notify: function (msg) {
        notices.push(msg);
        if (notices.length >= NOTICE_BATCH_MAX) flushNotices();
        else if (noticeTimer === null) noticeTimer = setTimeout(flushNotices, NOTICE_DELAY_MS);
      },
      flush: flushNotices,
      request: function (msg) {
        var id = nextId++;
        msg.id = id;
        if (notices.length) msg.notices = takeNotices(); // in order, handled after this reply is out
        return new Promise(function (resolve, reject) {
          var timer = setTimeout(function () {
            pending.delete(id);
            reject(new Error('no answer from the server'));
          }, REQUEST_TIMEOUT_MS);
          pending.set(id, { resolve: resolve, reject: reject, timer: timer });
          send(msg);
        });
      }
    };
  }

  ns.portalSocket = {create: create};
})(window);
