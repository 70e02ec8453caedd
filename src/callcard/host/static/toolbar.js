/* The portal header's "simulate call" form: asks callcard to ring this user (incoming: the telephony
 * app's PBX is told; outgoing: click-to-call, ONEXTERNALCALLSTART to the app). */
(function () {
  "use strict";
  var form = document.getElementById("toolbar");
  if (!form) return;
  var direction = "incoming";
  form.addEventListener("click", function (e) {
    if (e.target && e.target.name === "direction") direction = e.target.value;
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var phone = form.querySelector("[data-role=simulate-phone]").value;
    fetch("/portal/simulate", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({direction: direction, phone: phone})
    }).then(function (r) { return r.json(); }).then(function (data) {
      if (data.error) toast(data.error_description || data.error);
    }).catch(function (err) { toast("callcard is not reachable: " + err); });
  });
  function toast(text) {
    var box = document.getElementById("pp-toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "pp-toast";
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 5000);
  }
})();
