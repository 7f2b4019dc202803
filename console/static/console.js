// jinlian console: the connection indicator. Polls /health every 3 s and
// shows a banner while the node cannot be reached, and when it is back.
(function () {
  "use strict";
  var body = document.body, banner = document.getElementById("conn-lost");
  var conn = document.getElementById("conn"), text = document.getElementById("conn-text");
  var height = document.getElementById("conn-height");
  var ok = text ? text.textContent : "", lost = false;
  function set(up, h) {
    if (!conn) return;
    conn.classList.toggle("down", !up);
    if (up) {
      text.textContent = lost ? body.dataset.back : ok;
      if (h !== undefined) height.textContent = "#" + h;
      banner.hidden = true;
    } else {
      text.textContent = body.dataset.lost;
      banner.hidden = false;
    }
    lost = !up;
  }
  function poll() {
    fetch("/health", {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (j) { set(j.ok, j.height); })
      .catch(function () { set(false); })
      .finally(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
