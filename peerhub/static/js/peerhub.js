// PeerHub's only script besides htmx. No inline script anywhere (CSP: script-src 'self').
(function () {
  "use strict";

  // Preselect the browser's time zone in sign-up forms, unless the member already chose one.
  function preselectTimezone(root) {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone) return;
    root.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
      if (select.dataset.touched) return;
      var option = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
      if (option) select.value = zone;
      select.addEventListener("change", function () { select.dataset.touched = "1"; }, { once: true });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { preselectTimezone(document); });
  document.addEventListener("htmx:after:swap", function () { preselectTimezone(document); });
})();
