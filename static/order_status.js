// An open payment's page asks again every few seconds and shows the new state in place
// once the payment service has answered. A timed <meta> refresh would reload the whole
// page under the patron's hands (and make screen readers start again from the top).
(function () {
  "use strict";
  var INTERVAL_MS = 4000;
  var state = document.getElementById("order-state");
  if (!state || !state.hasAttribute("data-open")) {
    return;
  }

  function later() {
    window.setTimeout(look, INTERVAL_MS);
  }

  function show(fresh) {
    var form = document.querySelector("form.give-up");
    var hadFocus = form && form.contains(document.activeElement);
    if (form && !fresh.querySelector("form.give-up")) {
      form.remove();
    }
    var facts = document.getElementById("order-facts");
    var freshFacts = fresh.getElementById("order-facts");
    if (facts && freshFacts) {
      facts.innerHTML = freshFacts.innerHTML;
    }
    // Changed in place, the status region is read out; a new element might not be.
    state.innerHTML = fresh.getElementById("order-state").innerHTML;
    state.removeAttribute("data-open");
    if (hadFocus) {
      state.setAttribute("tabindex", "-1");
      state.focus();
    }
  }

  function look() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html");
        var freshState = fresh && fresh.getElementById("order-state");
        if (!freshState || freshState.hasAttribute("data-open")) {
          later();
          return;
        }
        show(fresh);
      })
      .catch(later);
  }

  later();
})();
