// HMRC fraud prevention (WEB_APP_VIA_SERVER): what the finance user's browser looks like, sent
// with the message form in the hidden field `browser_data`, and a device ID kept in the
// long-lived `emsg_device_id` cookie. Without this script the message is still sent; its
// history then names the headers that could not be collected.
(function () {
  "use strict";
  var COOKIE = "emsg_device_id";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // getTimezoneOffset() is the minutes the local time is *behind* UTC: -60 in UTC+01:00.
  function timezone() {
    var offset = -new Date().getTimezoneOffset();
    var sign = offset < 0 ? "-" : "+";
    var minutes = Math.abs(offset);
    return "UTC" + sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].trim();
      if (pair.indexOf(name + "=") === 0) return pair.substring(name.length + 1);
    }
    return null;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Pages on plain http outside loopback have no randomUUID: build a version 4 UUID.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = "";
    for (var i = 0; i < 16; i++) hex += (bytes[i] + 0x100).toString(16).substring(1);
    return hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) +
      "-" + hex.substring(16, 20) + "-" + hex.substring(20);
  }

  function deviceId() {
    if (!readCookie(COOKIE)) {
      var secure = window.location.protocol === "https:" ? "; Secure" : "";
      // Ten years: HMRC expects the same device ID for as long as the browser profile lives.
      document.cookie = COOKIE + "=" + uuid() + "; Max-Age=315360000; Path=/; SameSite=Lax" +
        secure;
    }
  }

  function browserData() {
    var s = window.screen || {};
    return JSON.stringify({
      screens: [{
        width: s.width,
        height: s.height,
        scaling_factor: window.devicePixelRatio || 1,
        colour_depth: s.colorDepth
      }],
      window: { width: window.innerWidth, height: window.innerHeight },
      timezone: timezone(),
      user_agent: navigator.userAgent
    });
  }

  function fill() {
    var fields = document.querySelectorAll("input[name=browser_data]");
    var data = browserData();
    for (var i = 0; i < fields.length; i++) fields[i].value = data;
  }

  try { deviceId(); } catch (e) { /* cookies off: the message is sent without a device ID */ }
  fill();
  // The window may be resized between loading the form and sending it.
  var forms = document.querySelectorAll("form[data-fraud-prevention]");
  for (var i = 0; i < forms.length; i++) forms[i].addEventListener("submit", fill);
})();
