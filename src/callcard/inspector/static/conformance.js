/*
 * callcard inspector — the conformance report. The server renders it; while "Live" is on, the report is
 * re-fetched every few seconds and swapped in when it changed (findings are not on the timeline).
 */
(function () {
  'use strict';

  var CI = window.CI;
  var boot = CI.boot();
  var root = document.querySelector('.ci-conformance');
  var $ = function (role) { return root.querySelector('[data-role="' + role + '"]'); };
  var report = $('report');
  var POLL_MS = 3000;
  var last = report.innerHTML;

  function refresh() {
    var open = {};
    report.querySelectorAll('details[open]').forEach(function (d) {
      var card = d.closest('[data-finding-id]');
      if (card) open[card.getAttribute('data-finding-id')] = true;
    });
    return fetch('/inspector/api/conformance.html' + CI.qs({ app_id: boot.app_id }),
                 { credentials: 'same-origin', cache: 'no-store' })
      .then(function (resp) { if (!resp.ok) throw new Error(String(resp.status)); return resp.text(); })
      .then(function (html) {
        if (html === last) return;
        last = html;
        report.innerHTML = html;
        Object.keys(open).forEach(function (id) {
          var d = report.querySelector('[data-finding-id="' + id + '"] details');
          if (d) d.open = true;
        });
      })
      .catch(function () { /* try again on the next tick */ });
  }

  $('app').addEventListener('change', function (ev) {
    location.href = '/inspector/conformance' + CI.qs({ app_id: ev.target.value });
  });
  root.querySelector('[data-action="refresh"]').addEventListener('click', refresh);
  setInterval(function () {
    if ($('auto').checked && document.visibilityState === 'visible') refresh();
  }, POLL_MS);
})();
