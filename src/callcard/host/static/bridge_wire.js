/*
 * callcard host bridge, the wire format: how a postMessage from an app frame is parsed
 * (shared/spec/wire-protocol.md §4.1 string form, §4.2 object form), plus the JSON helpers the bridge
 * files share.
 *
 * Registers CallcardParts.wire = {isPlainObject, parseString, parseObject, clone}. CallcardParts is the
 * one namespace the page scripts share code through: each file adds one key, read by the files loaded
 * after it (host/pages.py order).
 */
(function (global) {
  'use strict';
  var ns = global.CallcardParts = global.CallcardParts || {};

  function isPlainObject(v) {
    if (v === null || typeof v !== 'object') return false;
    var proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
  }

  /** §4.1: split on every ':'; first = command, last = appSid, second-to-last = callback id. */
  function parseString(text) {
    var pieces = text.split(':');
    if (pieces.length < 3) return null;
    var raw = pieces.slice(1, pieces.length - 2).join(':');
    var params = [];
    var rawParams = false;
    if (raw !== '') {
      try {
        params = JSON.parse(raw);
      } catch (e) {
        params = raw; // b24jssdk's setValue sends raw values; the platform would throw here
        rawParams = true;
      }
    }
    return {
      form: 'string',
      command: pieces[0],
      params: params,
      callbackId: pieces[pieces.length - 2],
      appSid: pieces[pieces.length - 1],
      rawParams: rawParams
    };
  }

  /** §4.2: {method, params, callback, appSid[, requestId, ...]}; '' or missing params mean []. */
  function parseObject(data) {
    if (typeof data.method !== 'string' || typeof data.appSid !== 'string') return null;
    var params = data.params;
    if (params === undefined || params === null || params === '') params = [];
    var cb = data.callback;
    cb = (typeof cb === 'string') ? cb : (cb === undefined || cb === null ? '' : String(cb));
    return { form: 'object', command: data.method, params: params, callbackId: cb,
             appSid: data.appSid, rawParams: false };
  }

  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }

  ns.wire = {isPlainObject: isPlainObject, parseString: parseString, parseObject: parseObject, clone: clone};
})(window);
