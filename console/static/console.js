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
      if (h !== undefined) {
        height.textContent = "#" + h;
        document.dispatchEvent(new CustomEvent("jl-height", {detail: h}));
      }
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

// Regulator page: new alerts and acknowledgements as the observer streams
// them (through the console, which signs the request), shown without a
// reload. Text only: nothing from the stream becomes markup.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var list = document.getElementById("live-alerts"), seen = {};
  var es = new EventSource("/regulator/stream?since=" + encodeURIComponent(live.dataset.since || "0"));
  function add(text, cls) {
    var li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    list.insertBefore(li, list.firstChild);
    live.hidden = false;
  }
  es.addEventListener("alert", function (e) {
    var a = JSON.parse(e.data);
    if (seen[a.id]) return;
    seen[a.id] = true;
    add(a.id + " · " + a.severity + " · " + a.rule + " · " + a.reason, "sev-" + a.severity);
  });
  es.addEventListener("ack", function (e) {
    var a = JSON.parse(e.data);
    if (seen["ack " + a.id]) return;
    seen["ack " + a.id] = true;
    add(a.id + " · " + live.dataset.ack);
  });
  es.addEventListener("failed", function (e) {
    add(JSON.parse(e.data).error, "error");
    es.close();
  });
})();

// Statement page, a day not over: each new movement of the organisation
// (the node's event feed, relayed by the console) is added at the end of
// the table as its block commits; EventSource resumes from the last id
// after a break. Text only: nothing from the stream becomes markup.
(function () {
  "use strict";
  var live = document.getElementById("statement-live");
  if (!live || !window.EventSource) return;
  var body = document.querySelector("#statement tbody"), f = live.dataset;
  function short(s) { return s && s.length > 14 ? s.slice(0, 10) + "\u2026" : (s || ""); }
  var es = new EventSource("/movements/stream?since=" + encodeURIComponent(f.since));
  es.addEventListener("movement", function (e) {
    var m = JSON.parse(e.data);
    if ((f.ledger && m.ledger !== f.ledger) || (f.asset && m.asset !== f.asset) || (f.account && m.account !== f.account)) return;
    var tr = document.createElement("tr");
    tr.className = "live";
    [m.time, String(m.height), m.ledger, m.asset, m.direction, m.amount, short(m.account),
     (short(m.counterparty) + " " + (m.counterparty_org || "")).trim(), m.memo, short(m.tx_id)].forEach(function (v, i) {
      var td = document.createElement("td");
      td.textContent = v;
      if (i === 5) td.className = "num";
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
})();

// Block list, newest page: the blocks committed since are added at the
// top as the connection indicator sees the height grow; the page keeps
// its 20 rows. The rows are the console's own rendering (/explorer/blocks
// ?after=), escaped by its templates.
(function () {
  "use strict";
  var body = document.querySelector("#blocks tbody[data-live-top]");
  if (!body) return;
  var top = Number(body.dataset.liveTop), busy = false;
  document.addEventListener("jl-height", function (e) {
    if (busy || !(e.detail > top)) return;
    busy = true;
    fetch("/explorer/blocks?after=" + top, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var t = document.createElement("tbody");
        t.innerHTML = html;
        var rows = Array.prototype.slice.call(t.rows);
        rows.reverse().forEach(function (tr) {
          var h = Number(tr.cells[0].textContent);
          if (h > top) {
            tr.className = "live";
            body.insertBefore(tr, body.firstChild);
          }
        });
        rows.forEach(function (tr) { top = Math.max(top, Number(tr.cells[0].textContent)); });
        while (body.rows.length > 20) body.deleteRow(body.rows.length - 1);
      })
      .catch(function () {})
      .finally(function () { busy = false; });
  });
})();

// An account's history, newest page: the movements committed since are
// added at the top, and the balance follows, as the connection indicator
// sees the height grow. The rows are the console's own rendering
// (/explorer/history?after=), escaped by its templates.
(function () {
  "use strict";
  var body = document.querySelector("#history tbody[data-live-url]");
  if (!body) return;
  var after = Number(body.dataset.liveAfter), url = body.dataset.liveUrl, busy = false;
  var amount = document.getElementById("balance-amount"), none = document.getElementById("no-history");
  document.addEventListener("jl-height", function (e) {
    if (busy || !(e.detail > after)) return;
    busy = true;
    fetch(url + "&after=" + after, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        if (j.rows) {
          var t = document.createElement("tbody");
          t.innerHTML = j.rows;
          Array.prototype.slice.call(t.rows).reverse().forEach(function (tr) {
            tr.className = "live";
            body.insertBefore(tr, body.firstChild);
          });
          body.closest(".scroll").hidden = false;
          if (none) none.hidden = true;
        }
        if (amount && j.balance) amount.textContent = j.balance;
        after = Math.max(after, j.to);
      })
      .catch(function () {})
      .finally(function () { busy = false; });
  });
})();
