// The preview page works without this script: the form posts, and Quire
// draws the page with the preview. With it, the preview follows what is
// typed: a moment after the last key press, the form is posted in the
// background and the preview panel alone is swapped for the new one. Focus
// stays where it is; a polite status message says the preview changed.
(function () {
  "use strict";

  var form = document.getElementById("preview-form");
  var status = document.getElementById("preview-status");
  if (!form || !status || !window.fetch || !window.DOMParser || !window.FormData ||
      !window.URLSearchParams || !window.AbortController) {
    return;
  }

  var pause = 400; // milliseconds after the last change
  var timer = 0;
  var inFlight = null;
  var lastSent = "";

  // The messages are in the page's language, on the status element.
  function announce(key) {
    status.textContent = status.getAttribute("data-" + key) || "";
  }

  function update() {
    var body = new URLSearchParams(new FormData(form));
    body.set("partial", "1");
    var sending = body.toString();
    if (sending === lastSent) {
      return;
    }
    lastSent = sending;
    if (inFlight) {
      inFlight.abort();
    }
    inFlight = new AbortController();
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      signal: inFlight.signal
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("preview");
      var current = document.getElementById("preview");
      if (!fresh || !current) {
        throw new Error("the response has no preview");
      }
      current.replaceWith(document.importNode(fresh, true));
      announce(fresh.querySelector("img") ? "updated" : "cannot");
    }).catch(function (err) {
      if (err && err.name === "AbortError") {
        return;
      }
      lastSent = "";
      announce("failed");
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, pause);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
