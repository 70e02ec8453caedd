/*
 * callcard inspector — the UiState diagram. The server renders the SVG and the side panel; this script
 * follows the user's card entries on the live feed and swaps in a freshly rendered page when one arrives.
 */
(function () {
  'use strict';

  var CI = window.CI;
  var boot = CI.boot();
  var root = document.querySelector('.ci-diagram');
  var $ = function (role, scope) { return (scope || root).querySelector('[data-role="' + role + '"]'); };
  var userId = boot.trace.user_id;
  var timer = null;

  function showView(view) {
    var box = $('view');
    if (!box) return;
    box.textContent = '';
    box.appendChild(view ? CI.jsonTree(view, 1) : CI.el('p', { class: 'ci-muted' }, 'No card is open.'));
  }

  function refresh() {
    fetch('/inspector/diagram' + CI.qs({ user_id: userId }), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (resp) { if (!resp.ok) throw new Error(String(resp.status)); return resp.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = doc.querySelector('.ci-diagram');
        if (!fresh) return;
        $('canvas').innerHTML = $('canvas', fresh).innerHTML;
        $('side').innerHTML = $('side', fresh).innerHTML;
        var data = JSON.parse(doc.getElementById('inspector-boot').textContent);
        showView(data.trace.view);
      })
      .catch(function () { /* the next card entry tries again */ });
  }

  var live = $('live');
  var feed = new CI.Feed({ kind: 'card', user_id: userId }, {
    status: function (status) {
      live.className = 'ci-live ' + (status === 'live' ? 'is-live' : 'is-down');
      live.textContent = status === 'live' ? 'live' : 'disconnected — retrying';
    },
    entry: function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 120); // a burst of card pushes renders once
    },
  });

  $('fit').addEventListener('change', function (ev) { $('canvas').classList.toggle('is-fit', ev.target.checked); });
  $('user').addEventListener('change', function (ev) {
    location.href = '/inspector/diagram' + CI.qs({ user_id: ev.target.value });
  });

  showView(boot.trace.view);
  // start after what the page already shows: only later card changes trigger a refresh
  CI.getJSON('/inspector/api/timeline?limit=1').then(function (data) { feed.open(data.last_seq); },
    function () { feed.open(0); });
})();
