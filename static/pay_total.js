// The total of the ticked fees next to the Pay button, kept up to date as fees are
// ticked. The server states the same total whenever it renders the page, so the
// page reads the same without JavaScript; this only saves the round trip.
// Each owner's fees are a form of their own, with their own total.
(function () {
  "use strict";
  // Two decimals and no grouping, in the page's language: as the server writes amounts.
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
    useGrouping: false,
  });

  function follow(total) {
    var form = total.closest("form");

    function update() {
      var cents = 0;
      form.querySelectorAll('input[name="fee"]:checked').forEach(function (box) {
        cents += Number(box.getAttribute("data-cents")) || 0;
      });
      total.textContent = number.format(cents / 100) + " " + total.getAttribute("data-currency");
    }

    form.addEventListener("change", update);
    // A page restored from the back-forward cache keeps its ticks but not the old total.
    window.addEventListener("pageshow", update);
    update();
  }

  document.querySelectorAll(".selected-total").forEach(follow);
})();
