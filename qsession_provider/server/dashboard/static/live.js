// Live pages: while the server says something is pending, fetch the page's live part
// every second and swap it in. The server answers a request carrying the header
// "X-Qsession-Live: 1" with that part alone and says in "X-Qsession-Pending" whether
// to ask again. Polling pauses while the tab is hidden.
(function () {
  "use strict";
  var PERIOD_MS = 1000;

  function start() {
    var box = document.getElementById("live");
    if (!box || !box.dataset.live) return;
    var busy = false;

    function tick() {
      if (box.dataset.pending !== "1" || busy || document.hidden) return;
      busy = true;
      fetch(box.dataset.live, {
        headers: { "X-Qsession-Live": "1" },
        credentials: "same-origin",
        cache: "no-store",
      })
        .then(function (response) {
          if (response.redirected || !response.ok) {
            box.dataset.pending = "0"; // logged out or gone: stop, keep what is shown
            return null;
          }
          box.dataset.pending = response.headers.get("X-Qsession-Pending") === "1" ? "1" : "0";
          return response.text();
        })
        .then(function (html) {
          if (html !== null) box.innerHTML = html;
        })
        .catch(function () {
          /* the server restarts or the network blinks: try again next tick */
        })
        .finally(function () {
          busy = false;
        });
    }

    setInterval(tick, PERIOD_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
