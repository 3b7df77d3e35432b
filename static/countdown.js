// "Access token will expire in": counts down every element with data-expires-at (Unix seconds).
// The server renders the first value, so the page reads correctly without this script.
(function () {
  "use strict";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function format(secs) {
    var past = secs < 0, s = Math.abs(secs), text;
    if (s < 60) text = s + "s";
    else if (s < 3600) text = Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    else if (s < 86400) text = Math.floor(s / 3600) + "h " + pad(Math.floor(s % 3600 / 60)) + "m";
    else text = Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
    return past ? "expired " + text + " ago" : text;
  }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    var nodes = document.querySelectorAll("[data-expires-at]");
    for (var i = 0; i < nodes.length; i++) {
      var at = parseInt(nodes[i].getAttribute("data-expires-at"), 10);
      if (!isNaN(at)) nodes[i].textContent = format(at - now);
    }
  }
  if (document.querySelector("[data-expires-at]")) setInterval(tick, 1000);
})();
