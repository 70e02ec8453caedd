/*
 * callcard host bridge, events (wire-protocol.md §9; call-card.md §9.5): placementBindEvent registers a
 * binding (no reply at bind time), server events are offered to every binding in binding order, the
 * bind guard holds back deliveries to young bindings, and sticky events replay to bindings made after
 * them (a restored card's `initialized`).
 *
 * Registers CallcardParts.bridgeEvents: methods that bridge.js mixes into CallcardBridge.prototype; they
 * use the bridge's `bindings`, `sticky`, `guardMs`, `server` and `conform`.
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};
  var now = function () { return global.performance.now(); };
  var methods = {};

  methods._bind = function (layout, msg) {
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
  methods.deliver = function (events) {
    for (var i = 0; i < events.length; i++) {
      var ev = events[i];
      var targets = this.bindings.filter(function (b) { return b.event === ev.name && !b.layout.destroyed; });
      for (var j = 0; j < targets.length; j++) this._offer(targets[j], ev);
    }
  };

  /** Keep `event` for bindings made within `windowMs` (one per layout): a restored card's
   * `initialized` reaches the frames of the reloaded page (call-card.md §9.5). */
  methods.replayToNewBindings = function (event, windowMs) {
    this.sticky = this.sticky.filter(function (s) { return now() < s.until; });
    this.sticky.push({ event: event, until: now() + windowMs, sent: new Set() });
  };

  methods.clearSticky = function () { this.sticky = []; };

  /** Milliseconds until the events held back for frame `sid` have all been posted (0: none held). A frame
   * about to be removed waits this long, so a held event is delivered rather than dropped (§9). */
  methods.heldFor = function (sid) {
    var guard = this.guardMs, wait = 0;
    this.bindings.forEach(function (b) {
      if (b.layout.sid === sid && b.queue.length) wait = Math.max(wait, guard - (now() - b.at) + 1);
    });
    return Math.max(0, Math.ceil(wait));
  };

  methods._offer = function (binding, ev) {
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

  methods._scheduleFlush = function (binding) {
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

  methods._postEvent = function (binding, ev) {
    if (binding.layout.destroyed) return;
    var text = binding.cb + ':' + (ev.has ? JSON.stringify(ev.payload) : '');
    if (binding.layout.post(text)) {
      this.server.notify({ t: 'wire', sid: binding.layout.sid, dir: 'out', kind: ev.name, data: text });
    }
  };

  ns.bridgeEvents = methods;
})(window);
